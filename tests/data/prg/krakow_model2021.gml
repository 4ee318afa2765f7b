<?xml version="1.0" encoding="UTF-8"?>
<!-- A PRG sample (2021 EMUiA model) written for the tests: real Kraków addresses (points from
     data/krakow/places/*.json, pyproj always_xy to EPSG:2180). srsName="EPSG:2180" in the short
     form and gml:pos easting northing, as in the 2021 files; streets are xlink references. -->
<gml:FeatureCollection xmlns:gml="http://www.opengis.net/gml/3.2"
	xmlns:xlink="http://www.w3.org/1999/xlink"
	xmlns:prgad="https://geoportal.gov.pl/schemas/prgad/1.0">
	<gml:featureMember>
		<prgad:AD_Miejscowosc gml:id="PL.ZIPIN.1261.EMUiA_0950463">
			<prgad:nazwa>Kraków</prgad:nazwa>
			<prgad:rodzaj>96</prgad:rodzaj>
			<prgad:identyfikatorSIMC>0950463</prgad:identyfikatorSIMC>
		</prgad:AD_Miejscowosc>
	</gml:featureMember>
	<gml:featureMember>
		<prgad:AD_PunktAdresowy gml:id="PL.ZIPIN.1261.EMUiA_b7a5800c-e9d7-5d26-9194-06cd10c40568">
			<prgad:idIIP>
				<prgad:AD_IdentyfikatorIIP>
					<prgad:lokalnyId>b7a5800c-e9d7-5d26-9194-06cd10c40568</prgad:lokalnyId>
					<prgad:przestrzenNazw>PL.PZGIK.200</prgad:przestrzenNazw>
					<prgad:wersjaId>2025-10-14T14:05:46+02:00</prgad:wersjaId>
				</prgad:AD_IdentyfikatorIIP>
			</prgad:idIIP>
			<prgad:numerPorzadkowy>12</prgad:numerPorzadkowy>
			<prgad:georeferencja>
				<gml:Point srsName="EPSG:2180" srsDimension="2">
					<gml:pos>566504.77 244520.09</gml:pos>
				</gml:Point>
			</prgad:georeferencja>
			<prgad:kodPocztowy>31-124</prgad:kodPocztowy>
			<prgad:miejscowosc xlink:href="#PL.ZIPIN.1261.EMUiA_0950463" />
			<prgad:ulica2 xlink:href="#PL.ZIPIN.1261.EMUiA_ul0001" />
		</prgad:AD_PunktAdresowy>
	</gml:featureMember>
	<gml:featureMember>
		<prgad:AD_PunktAdresowy gml:id="PL.ZIPIN.1261.EMUiA_e985fd9c-7a33-5333-8183-941a4b5ea6f3">
			<prgad:idIIP>
				<prgad:AD_IdentyfikatorIIP>
					<prgad:lokalnyId>e985fd9c-7a33-5333-8183-941a4b5ea6f3</prgad:lokalnyId>
					<prgad:przestrzenNazw>PL.PZGIK.200</prgad:przestrzenNazw>
					<prgad:wersjaId>2025-10-14T14:05:46+02:00</prgad:wersjaId>
				</prgad:AD_IdentyfikatorIIP>
			</prgad:idIIP>
			<prgad:numerPorzadkowy>2</prgad:numerPorzadkowy>
			<prgad:georeferencja>
				<gml:Point srsName="EPSG:2180" srsDimension="2">
					<gml:pos>566529.32 243161.6</gml:pos>
				</gml:Point>
			</prgad:georeferencja>
			<prgad:kodPocztowy>30-101</prgad:kodPocztowy>
			<prgad:miejscowosc xlink:href="#PL.ZIPIN.1261.EMUiA_0950463" />
			<prgad:ulica2 xlink:href="#PL.ZIPIN.1261.EMUiA_ul0002" />
		</prgad:AD_PunktAdresowy>
	</gml:featureMember>
	<gml:featureMember>
		<prgad:AD_PunktAdresowy gml:id="PL.ZIPIN.1261.EMUiA_2986ec0f-96c9-53d6-8e01-a8fa4c02bd3e">
			<prgad:idIIP>
				<prgad:AD_IdentyfikatorIIP>
					<prgad:lokalnyId>2986ec0f-96c9-53d6-8e01-a8fa4c02bd3e</prgad:lokalnyId>
					<prgad:przestrzenNazw>PL.PZGIK.200</prgad:przestrzenNazw>
					<prgad:wersjaId>2025-10-14T14:05:46+02:00</prgad:wersjaId>
				</prgad:AD_IdentyfikatorIIP>
			</prgad:idIIP>
			<prgad:numerPorzadkowy>30</prgad:numerPorzadkowy>
			<prgad:georeferencja>
				<gml:Point srsName="EPSG:2180" srsDimension="2">
					<gml:pos>565931.1 244677.34</gml:pos>
				</gml:Point>
			</prgad:georeferencja>
			<prgad:kodPocztowy>30-059</prgad:kodPocztowy>
			<prgad:miejscowosc xlink:href="#PL.ZIPIN.1261.EMUiA_0950463" />
			<prgad:ulica2 xlink:href="#PL.ZIPIN.1261.EMUiA_ul0003" />
		</prgad:AD_PunktAdresowy>
	</gml:featureMember>
	<gml:featureMember>
		<prgad:AD_PunktAdresowy gml:id="PL.ZIPIN.1261.EMUiA_11b99640-ee3b-5c78-841f-d2e9d7396231">
			<prgad:idIIP>
				<prgad:AD_IdentyfikatorIIP>
					<prgad:lokalnyId>11b99640-ee3b-5c78-841f-d2e9d7396231</prgad:lokalnyId>
					<prgad:przestrzenNazw>PL.PZGIK.200</prgad:przestrzenNazw>
					<prgad:wersjaId>2025-10-14T14:05:46+02:00</prgad:wersjaId>
				</prgad:AD_IdentyfikatorIIP>
			</prgad:idIIP>
			<prgad:numerPorzadkowy>73a</prgad:numerPorzadkowy>
			<prgad:georeferencja>
				<gml:Point srsName="EPSG:2180" srsDimension="2">
					<gml:pos>567467.02 245193.37</gml:pos>
				</gml:Point>
			</prgad:georeferencja>
			<prgad:kodPocztowy>31-153</prgad:kodPocztowy>
			<prgad:miejscowosc xlink:href="#PL.ZIPIN.1261.EMUiA_0950463" />
			<prgad:ulica2 xlink:href="#PL.ZIPIN.1261.EMUiA_ul0004" />
		</prgad:AD_PunktAdresowy>
	</gml:featureMember>
	<gml:featureMember>
		<prgad:AD_PunktAdresowy gml:id="PL.ZIPIN.1261.EMUiA_2d30922e-fe78-5f01-bc2f-eab4c9de1b72">
			<prgad:idIIP>
				<prgad:AD_IdentyfikatorIIP>
					<prgad:lokalnyId>2d30922e-fe78-5f01-bc2f-eab4c9de1b72</prgad:lokalnyId>
					<prgad:przestrzenNazw>PL.PZGIK.200</prgad:przestrzenNazw>
					<prgad:wersjaId>2025-10-14T14:05:46+02:00</prgad:wersjaId>
				</prgad:AD_IdentyfikatorIIP>
			</prgad:idIIP>
			<prgad:numerPorzadkowy>5</prgad:numerPorzadkowy>
			<prgad:georeferencja>
				<gml:Point srsName="EPSG:2180" srsDimension="2">
					<gml:pos>574133.0 246352.56</gml:pos>
				</gml:Point>
			</prgad:georeferencja>
			<prgad:kodPocztowy>31-959</prgad:kodPocztowy>
			<prgad:miejscowosc xlink:href="#PL.ZIPIN.1261.EMUiA_0950463" />
			<prgad:ulica2 xlink:href="#PL.ZIPIN.1261.EMUiA_ul0005" />
		</prgad:AD_PunktAdresowy>
	</gml:featureMember>
	<gml:featureMember>
		<prgad:AD_PunktAdresowy gml:id="PL.ZIPIN.1261.EMUiA_781c6ad3-f9b6-545c-8012-74c5c3817170">
			<prgad:idIIP>
				<prgad:AD_IdentyfikatorIIP>
					<prgad:lokalnyId>781c6ad3-f9b6-545c-8012-74c5c3817170</prgad:lokalnyId>
					<prgad:przestrzenNazw>PL.PZGIK.200</prgad:przestrzenNazw>
					<prgad:wersjaId>2025-10-14T14:05:46+02:00</prgad:wersjaId>
				</prgad:AD_IdentyfikatorIIP>
			</prgad:idIIP>
			<prgad:numerPorzadkowy>4</prgad:numerPorzadkowy>
			<prgad:georeferencja>
				<gml:Point srsName="EPSG:2180" srsDimension="2">
					<gml:pos>574116.72 246423.19</gml:pos>
				</gml:Point>
			</prgad:georeferencja>
			<prgad:kodPocztowy>31-959</prgad:kodPocztowy>
			<prgad:miejscowosc xlink:href="#PL.ZIPIN.1261.EMUiA_0950463" />
			<prgad:ulica2 xlink:href="#PL.ZIPIN.1261.EMUiA_ul0005" />
		</prgad:AD_PunktAdresowy>
	</gml:featureMember>
	<gml:featureMember>
		<prgad:AD_UlicaPlac gml:id="PL.ZIPIN.1261.EMUiA_ul0001">
			<prgad:nazwaPelna>Rajska</prgad:nazwaPelna>
			<prgad:rodzaj>1</prgad:rodzaj>
			<prgad:TERYTNazwa1>Rajska</prgad:TERYTNazwa1>
			<prgad:miejsce xlink:href="#PL.ZIPIN.1261.EMUiA_0950463" />
		</prgad:AD_UlicaPlac>
	</gml:featureMember>
	<gml:featureMember>
		<prgad:AD_UlicaPlac gml:id="PL.ZIPIN.1261.EMUiA_ul0002">
			<prgad:nazwaPelna>Powroźnicza</prgad:nazwaPelna>
			<prgad:rodzaj>1</prgad:rodzaj>
			<prgad:TERYTNazwa1>Powroźnicza</prgad:TERYTNazwa1>
			<prgad:miejsce xlink:href="#PL.ZIPIN.1261.EMUiA_0950463" />
		</prgad:AD_UlicaPlac>
	</gml:featureMember>
	<gml:featureMember>
		<prgad:AD_UlicaPlac gml:id="PL.ZIPIN.1261.EMUiA_ul0003">
			<prgad:nazwaPelna>Aleja Adama Mickiewicza</prgad:nazwaPelna>
			<prgad:rodzaj>1</prgad:rodzaj>
			<prgad:TERYTNazwa1>Aleja Adama Mickiewicza</prgad:TERYTNazwa1>
			<prgad:miejsce xlink:href="#PL.ZIPIN.1261.EMUiA_0950463" />
		</prgad:AD_UlicaPlac>
	</gml:featureMember>
	<gml:featureMember>
		<prgad:AD_UlicaPlac gml:id="PL.ZIPIN.1261.EMUiA_ul0004">
			<prgad:nazwaPelna>Szlak</prgad:nazwaPelna>
			<prgad:rodzaj>1</prgad:rodzaj>
			<prgad:TERYTNazwa1>Szlak</prgad:TERYTNazwa1>
			<prgad:miejsce xlink:href="#PL.ZIPIN.1261.EMUiA_0950463" />
		</prgad:AD_UlicaPlac>
	</gml:featureMember>
	<gml:featureMember>
		<prgad:AD_UlicaPlac gml:id="PL.ZIPIN.1261.EMUiA_ul0005">
			<prgad:nazwaPelna>Osiedle Górali</prgad:nazwaPelna>
			<prgad:rodzaj>1</prgad:rodzaj>
			<prgad:TERYTNazwa1>Osiedle Górali</prgad:TERYTNazwa1>
			<prgad:miejsce xlink:href="#PL.ZIPIN.1261.EMUiA_0950463" />
		</prgad:AD_UlicaPlac>
	</gml:featureMember>
</gml:FeatureCollection>
