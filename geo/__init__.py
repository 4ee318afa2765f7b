"""Framework-free spatial core of Civic Map Kraków (never imports flask or folium)."""
