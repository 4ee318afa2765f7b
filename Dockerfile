# The app image for docker-compose.yml (PostGIS runs in its own container).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HOST=0.0.0.0 PORT=5000
WORKDIR /srv/civicmap
COPY pyproject.toml README.md ./
COPY app app
COPY geo geo
COPY layers layers
COPY importers importers
COPY migrations migrations
COPY static static
COPY data data
RUN pip install --no-cache-dir . && \
    if [ -d app/translations ]; then pybabel compile -f -d app/translations; fi
EXPOSE 5000
CMD ["sh", "-c", "civicmap db migrate && civicmap load-reference && civicmap serve"]
