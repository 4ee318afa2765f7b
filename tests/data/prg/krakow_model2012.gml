<?xml version="1.0" encoding="utf-8"?>
<!-- A PRG sample (2012 model) written for the tests: real Kraków addresses, their points taken
     from data/krakow/places/*.json and transformed to EPSG:2180 (pyproj, always_xy); gml:pos is
     northing easting, as the EPSG:2180 URN says. The last point lies in Wieliczka (outside). -->
<gml:FeatureCollection xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:gml="http://www.opengis.net/gml/3.2"
    xmlns:bt="urn:gugik:specyfikacje:gmlas:modelPodstawowy:1.0"
    xmlns:mua="urn:gugik:specyfikacje:gmlas:ewidencjaMiejscowosciUlicAdresow:1.0"
    xmlns:prg-ad="urn:gugik:specyfikacje:gmlas:panstwowyRejestrGranicAdresy:1.0" gml:id="prg-ad">
    <gml:featureMembers>
        <prg-ad:PRG_PunktAdresowy gml:id="PL.ZIPIN.1261.EMUiA_b7a5800c-e9d7-5d26-9194-06cd10c40568">
            <prg-ad:idIIP>
                <bt:BT_Identyfikator>
                    <bt:lokalnyId>b7a5800c-e9d7-5d26-9194-06cd10c40568</bt:lokalnyId>
                    <bt:przestrzenNazw>PL.PZGIK.200</bt:przestrzenNazw>
                    <bt:wersjaId>2024-05-22T10:00:00+02:00</bt:wersjaId>
                </bt:BT_Identyfikator>
            </prg-ad:idIIP>
            <prg-ad:jednostkaAdmnistracyjna>Polska</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:jednostkaAdmnistracyjna>małopolskie</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:jednostkaAdmnistracyjna>Kraków</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:jednostkaAdmnistracyjna>Kraków</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:miejscowosc>Kraków</prg-ad:miejscowosc>
            <prg-ad:czescMiejscowosci nilReason="inapplicable" xsi:nil="true" />
            <prg-ad:ulica>Rajska</prg-ad:ulica>
            <prg-ad:numerPorzadkowy>12</prg-ad:numerPorzadkowy>
            <prg-ad:kodPocztowy>31-124</prg-ad:kodPocztowy>
            <prg-ad:status>istniejacy</prg-ad:status>
            <prg-ad:pozycja>
                <gml:Point srsName="urn:ogc:def:crs:EPSG::2180" srsDimension="2" gml:id="PL.PZGIK.200_b7a5800c-e9d7-5d26-9194-06cd10c40568_GEO">
                    <gml:pos>244520.09 566504.77</gml:pos>
                </gml:Point>
            </prg-ad:pozycja>
        </prg-ad:PRG_PunktAdresowy>
        <prg-ad:PRG_PunktAdresowy gml:id="PL.ZIPIN.1261.EMUiA_e985fd9c-7a33-5333-8183-941a4b5ea6f3">
            <prg-ad:idIIP>
                <bt:BT_Identyfikator>
                    <bt:lokalnyId>e985fd9c-7a33-5333-8183-941a4b5ea6f3</bt:lokalnyId>
                    <bt:przestrzenNazw>PL.PZGIK.200</bt:przestrzenNazw>
                    <bt:wersjaId>2024-05-22T10:00:00+02:00</bt:wersjaId>
                </bt:BT_Identyfikator>
            </prg-ad:idIIP>
            <prg-ad:jednostkaAdmnistracyjna>Polska</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:jednostkaAdmnistracyjna>małopolskie</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:jednostkaAdmnistracyjna>Kraków</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:jednostkaAdmnistracyjna>Kraków</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:miejscowosc>Kraków</prg-ad:miejscowosc>
            <prg-ad:czescMiejscowosci nilReason="inapplicable" xsi:nil="true" />
            <prg-ad:ulica>Powroźnicza</prg-ad:ulica>
            <prg-ad:numerPorzadkowy>2</prg-ad:numerPorzadkowy>
            <prg-ad:kodPocztowy>30-101</prg-ad:kodPocztowy>
            <prg-ad:status>istniejacy</prg-ad:status>
            <prg-ad:pozycja>
                <gml:Point srsName="urn:ogc:def:crs:EPSG::2180" srsDimension="2" gml:id="PL.PZGIK.200_e985fd9c-7a33-5333-8183-941a4b5ea6f3_GEO">
                    <gml:pos>243161.6 566529.32</gml:pos>
                </gml:Point>
            </prg-ad:pozycja>
        </prg-ad:PRG_PunktAdresowy>
        <prg-ad:PRG_PunktAdresowy gml:id="PL.ZIPIN.1261.EMUiA_2986ec0f-96c9-53d6-8e01-a8fa4c02bd3e">
            <prg-ad:idIIP>
                <bt:BT_Identyfikator>
                    <bt:lokalnyId>2986ec0f-96c9-53d6-8e01-a8fa4c02bd3e</bt:lokalnyId>
                    <bt:przestrzenNazw>PL.PZGIK.200</bt:przestrzenNazw>
                    <bt:wersjaId>2024-05-22T10:00:00+02:00</bt:wersjaId>
                </bt:BT_Identyfikator>
            </prg-ad:idIIP>
            <prg-ad:jednostkaAdmnistracyjna>Polska</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:jednostkaAdmnistracyjna>małopolskie</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:jednostkaAdmnistracyjna>Kraków</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:jednostkaAdmnistracyjna>Kraków</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:miejscowosc>Kraków</prg-ad:miejscowosc>
            <prg-ad:czescMiejscowosci nilReason="inapplicable" xsi:nil="true" />
            <prg-ad:ulica>Aleja Adama Mickiewicza</prg-ad:ulica>
            <prg-ad:numerPorzadkowy>30</prg-ad:numerPorzadkowy>
            <prg-ad:kodPocztowy>30-059</prg-ad:kodPocztowy>
            <prg-ad:status>istniejacy</prg-ad:status>
            <prg-ad:pozycja>
                <gml:Point srsName="urn:ogc:def:crs:EPSG::2180" srsDimension="2" gml:id="PL.PZGIK.200_2986ec0f-96c9-53d6-8e01-a8fa4c02bd3e_GEO">
                    <gml:pos>244677.34 565931.1</gml:pos>
                </gml:Point>
            </prg-ad:pozycja>
        </prg-ad:PRG_PunktAdresowy>
        <prg-ad:PRG_PunktAdresowy gml:id="PL.ZIPIN.1261.EMUiA_11b99640-ee3b-5c78-841f-d2e9d7396231">
            <prg-ad:idIIP>
                <bt:BT_Identyfikator>
                    <bt:lokalnyId>11b99640-ee3b-5c78-841f-d2e9d7396231</bt:lokalnyId>
                    <bt:przestrzenNazw>PL.PZGIK.200</bt:przestrzenNazw>
                    <bt:wersjaId>2024-05-22T10:00:00+02:00</bt:wersjaId>
                </bt:BT_Identyfikator>
            </prg-ad:idIIP>
            <prg-ad:jednostkaAdmnistracyjna>Polska</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:jednostkaAdmnistracyjna>małopolskie</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:jednostkaAdmnistracyjna>Kraków</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:jednostkaAdmnistracyjna>Kraków</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:miejscowosc>Kraków</prg-ad:miejscowosc>
            <prg-ad:czescMiejscowosci nilReason="inapplicable" xsi:nil="true" />
            <prg-ad:ulica>Szlak</prg-ad:ulica>
            <prg-ad:numerPorzadkowy>73a</prg-ad:numerPorzadkowy>
            <prg-ad:kodPocztowy>31-153</prg-ad:kodPocztowy>
            <prg-ad:status>istniejacy</prg-ad:status>
            <prg-ad:pozycja>
                <gml:Point srsName="urn:ogc:def:crs:EPSG::2180" srsDimension="2" gml:id="PL.PZGIK.200_11b99640-ee3b-5c78-841f-d2e9d7396231_GEO">
                    <gml:pos>245193.37 567467.02</gml:pos>
                </gml:Point>
            </prg-ad:pozycja>
        </prg-ad:PRG_PunktAdresowy>
        <prg-ad:PRG_PunktAdresowy gml:id="PL.ZIPIN.1261.EMUiA_2d30922e-fe78-5f01-bc2f-eab4c9de1b72">
            <prg-ad:idIIP>
                <bt:BT_Identyfikator>
                    <bt:lokalnyId>2d30922e-fe78-5f01-bc2f-eab4c9de1b72</bt:lokalnyId>
                    <bt:przestrzenNazw>PL.PZGIK.200</bt:przestrzenNazw>
                    <bt:wersjaId>2024-05-22T10:00:00+02:00</bt:wersjaId>
                </bt:BT_Identyfikator>
            </prg-ad:idIIP>
            <prg-ad:jednostkaAdmnistracyjna>Polska</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:jednostkaAdmnistracyjna>małopolskie</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:jednostkaAdmnistracyjna>Kraków</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:jednostkaAdmnistracyjna>Kraków</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:miejscowosc>Kraków</prg-ad:miejscowosc>
            <prg-ad:czescMiejscowosci nilReason="inapplicable" xsi:nil="true" />
            <prg-ad:ulica>Osiedle Górali</prg-ad:ulica>
            <prg-ad:numerPorzadkowy>5</prg-ad:numerPorzadkowy>
            <prg-ad:kodPocztowy>31-959</prg-ad:kodPocztowy>
            <prg-ad:status>istniejacy</prg-ad:status>
            <prg-ad:pozycja>
                <gml:Point srsName="urn:ogc:def:crs:EPSG::2180" srsDimension="2" gml:id="PL.PZGIK.200_2d30922e-fe78-5f01-bc2f-eab4c9de1b72_GEO">
                    <gml:pos>246352.56 574133.0</gml:pos>
                </gml:Point>
            </prg-ad:pozycja>
        </prg-ad:PRG_PunktAdresowy>
        <prg-ad:PRG_PunktAdresowy gml:id="PL.ZIPIN.1261.EMUiA_781c6ad3-f9b6-545c-8012-74c5c3817170">
            <prg-ad:idIIP>
                <bt:BT_Identyfikator>
                    <bt:lokalnyId>781c6ad3-f9b6-545c-8012-74c5c3817170</bt:lokalnyId>
                    <bt:przestrzenNazw>PL.PZGIK.200</bt:przestrzenNazw>
                    <bt:wersjaId>2024-05-22T10:00:00+02:00</bt:wersjaId>
                </bt:BT_Identyfikator>
            </prg-ad:idIIP>
            <prg-ad:jednostkaAdmnistracyjna>Polska</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:jednostkaAdmnistracyjna>małopolskie</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:jednostkaAdmnistracyjna>Kraków</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:jednostkaAdmnistracyjna>Kraków</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:miejscowosc>Kraków</prg-ad:miejscowosc>
            <prg-ad:czescMiejscowosci nilReason="inapplicable" xsi:nil="true" />
            <prg-ad:ulica>Osiedle Górali</prg-ad:ulica>
            <prg-ad:numerPorzadkowy>4</prg-ad:numerPorzadkowy>
            <prg-ad:kodPocztowy>31-959</prg-ad:kodPocztowy>
            <prg-ad:status>istniejacy</prg-ad:status>
            <prg-ad:pozycja>
                <gml:Point srsName="urn:ogc:def:crs:EPSG::2180" srsDimension="2" gml:id="PL.PZGIK.200_781c6ad3-f9b6-545c-8012-74c5c3817170_GEO">
                    <gml:pos>246423.19 574116.72</gml:pos>
                </gml:Point>
            </prg-ad:pozycja>
        </prg-ad:PRG_PunktAdresowy>
        <prg-ad:PRG_PunktAdresowy gml:id="PL.ZIPIN.1261.EMUiA_c0d00696-7ad8-51ef-8f57-29221e5717ef">
            <prg-ad:idIIP>
                <bt:BT_Identyfikator>
                    <bt:lokalnyId>c0d00696-7ad8-51ef-8f57-29221e5717ef</bt:lokalnyId>
                    <bt:przestrzenNazw>PL.PZGIK.200</bt:przestrzenNazw>
                    <bt:wersjaId>2024-05-22T10:00:00+02:00</bt:wersjaId>
                </bt:BT_Identyfikator>
            </prg-ad:idIIP>
            <prg-ad:jednostkaAdmnistracyjna>Polska</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:jednostkaAdmnistracyjna>małopolskie</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:jednostkaAdmnistracyjna>Kraków</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:jednostkaAdmnistracyjna>Kraków</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:miejscowosc>Kraków</prg-ad:miejscowosc>
            <prg-ad:czescMiejscowosci nilReason="inapplicable" xsi:nil="true" />
            <prg-ad:ulica>Zabłocie</prg-ad:ulica>
            <prg-ad:numerPorzadkowy>22</prg-ad:numerPorzadkowy>
            <prg-ad:kodPocztowy>30-701</prg-ad:kodPocztowy>
            <prg-ad:status>istniejacy</prg-ad:status>
            <prg-ad:pozycja>
                <gml:Point srsName="urn:ogc:def:crs:EPSG::2180" srsDimension="2" gml:id="PL.PZGIK.200_c0d00696-7ad8-51ef-8f57-29221e5717ef_GEO">
                    <gml:pos>243001.97 569195.1</gml:pos>
                </gml:Point>
            </prg-ad:pozycja>
        </prg-ad:PRG_PunktAdresowy>
        <prg-ad:PRG_PunktAdresowy gml:id="PL.ZIPIN.1261.EMUiA_c3945111-c8aa-5bc8-baaf-9609ac273596">
            <prg-ad:idIIP>
                <bt:BT_Identyfikator>
                    <bt:lokalnyId>c3945111-c8aa-5bc8-baaf-9609ac273596</bt:lokalnyId>
                    <bt:przestrzenNazw>PL.PZGIK.200</bt:przestrzenNazw>
                    <bt:wersjaId>2024-05-22T10:00:00+02:00</bt:wersjaId>
                </bt:BT_Identyfikator>
            </prg-ad:idIIP>
            <prg-ad:jednostkaAdmnistracyjna>Polska</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:jednostkaAdmnistracyjna>małopolskie</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:jednostkaAdmnistracyjna>Kraków</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:jednostkaAdmnistracyjna>Kraków</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:miejscowosc>Kraków</prg-ad:miejscowosc>
            <prg-ad:czescMiejscowosci nilReason="inapplicable" xsi:nil="true" />
            <prg-ad:ulica>Krowoderska</prg-ad:ulica>
            <prg-ad:numerPorzadkowy>8</prg-ad:numerPorzadkowy>
            <prg-ad:kodPocztowy>31-141</prg-ad:kodPocztowy>
            <prg-ad:status>istniejacy</prg-ad:status>
            <prg-ad:pozycja>
                <gml:Point srsName="urn:ogc:def:crs:EPSG::2180" srsDimension="2" gml:id="PL.PZGIK.200_c3945111-c8aa-5bc8-baaf-9609ac273596_GEO">
                    <gml:pos>244877.11 567073.39</gml:pos>
                </gml:Point>
            </prg-ad:pozycja>
        </prg-ad:PRG_PunktAdresowy>
        <prg-ad:PRG_PunktAdresowy gml:id="PL.ZIPIN.1261.EMUiA_93299d1c-b54c-5490-8f9c-0b3bcc174dd9">
            <prg-ad:idIIP>
                <bt:BT_Identyfikator>
                    <bt:lokalnyId>93299d1c-b54c-5490-8f9c-0b3bcc174dd9</bt:lokalnyId>
                    <bt:przestrzenNazw>PL.PZGIK.200</bt:przestrzenNazw>
                    <bt:wersjaId>2024-05-22T10:00:00+02:00</bt:wersjaId>
                </bt:BT_Identyfikator>
            </prg-ad:idIIP>
            <prg-ad:jednostkaAdmnistracyjna>Polska</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:jednostkaAdmnistracyjna>małopolskie</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:jednostkaAdmnistracyjna>Kraków</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:jednostkaAdmnistracyjna>Kraków</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:miejscowosc>Kraków</prg-ad:miejscowosc>
            <prg-ad:czescMiejscowosci nilReason="inapplicable" xsi:nil="true" />
            <prg-ad:ulica>Rynek Główny</prg-ad:ulica>
            <prg-ad:numerPorzadkowy>27</prg-ad:numerPorzadkowy>
            <prg-ad:kodPocztowy>31-010</prg-ad:kodPocztowy>
            <prg-ad:status>istniejacy</prg-ad:status>
            <prg-ad:pozycja>
                <gml:Point srsName="urn:ogc:def:crs:EPSG::2180" srsDimension="2" gml:id="PL.PZGIK.200_93299d1c-b54c-5490-8f9c-0b3bcc174dd9_GEO">
                    <gml:pos>244234.16 566916.89</gml:pos>
                </gml:Point>
            </prg-ad:pozycja>
        </prg-ad:PRG_PunktAdresowy>
        <prg-ad:PRG_PunktAdresowy gml:id="PL.ZIPIN.1261.EMUiA_87c1d096-0910-50b9-8340-19c0ed5fb31e">
            <prg-ad:idIIP>
                <bt:BT_Identyfikator>
                    <bt:lokalnyId>87c1d096-0910-50b9-8340-19c0ed5fb31e</bt:lokalnyId>
                    <bt:przestrzenNazw>PL.PZGIK.200</bt:przestrzenNazw>
                    <bt:wersjaId>2024-05-22T10:00:00+02:00</bt:wersjaId>
                </bt:BT_Identyfikator>
            </prg-ad:idIIP>
            <prg-ad:jednostkaAdmnistracyjna>Polska</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:jednostkaAdmnistracyjna>małopolskie</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:jednostkaAdmnistracyjna>Kraków</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:jednostkaAdmnistracyjna>Kraków</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:miejscowosc>Kraków</prg-ad:miejscowosc>
            <prg-ad:czescMiejscowosci nilReason="inapplicable" xsi:nil="true" />
            <prg-ad:ulica>Józefa Rostafińskiego</prg-ad:ulica>
            <prg-ad:numerPorzadkowy>7</prg-ad:numerPorzadkowy>
            <prg-ad:kodPocztowy>30-072</prg-ad:kodPocztowy>
            <prg-ad:status>istniejacy</prg-ad:status>
            <prg-ad:pozycja>
                <gml:Point srsName="urn:ogc:def:crs:EPSG::2180" srsDimension="2" gml:id="PL.PZGIK.200_87c1d096-0910-50b9-8340-19c0ed5fb31e_GEO">
                    <gml:pos>245027.17 564739.06</gml:pos>
                </gml:Point>
            </prg-ad:pozycja>
        </prg-ad:PRG_PunktAdresowy>
        <prg-ad:PRG_PunktAdresowy gml:id="PL.ZIPIN.1261.EMUiA_0c2cbb6b-ab01-5ad1-bf70-a34e9b53cfc7">
            <prg-ad:idIIP>
                <bt:BT_Identyfikator>
                    <bt:lokalnyId>0c2cbb6b-ab01-5ad1-bf70-a34e9b53cfc7</bt:lokalnyId>
                    <bt:przestrzenNazw>PL.PZGIK.200</bt:przestrzenNazw>
                    <bt:wersjaId>2024-05-22T10:00:00+02:00</bt:wersjaId>
                </bt:BT_Identyfikator>
            </prg-ad:idIIP>
            <prg-ad:jednostkaAdmnistracyjna>Polska</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:jednostkaAdmnistracyjna>małopolskie</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:jednostkaAdmnistracyjna>wielicki</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:jednostkaAdmnistracyjna>Wieliczka</prg-ad:jednostkaAdmnistracyjna>
            <prg-ad:miejscowosc>Wieliczka</prg-ad:miejscowosc>
            <prg-ad:czescMiejscowosci nilReason="inapplicable" xsi:nil="true" />
            <prg-ad:ulica>Rynek Górny</prg-ad:ulica>
            <prg-ad:numerPorzadkowy>1</prg-ad:numerPorzadkowy>
            <prg-ad:kodPocztowy>32-020</prg-ad:kodPocztowy>
            <prg-ad:status>istniejacy</prg-ad:status>
            <prg-ad:pozycja>
                <gml:Point srsName="urn:ogc:def:crs:EPSG::2180" srsDimension="2" gml:id="PL.PZGIK.200_0c2cbb6b-ab01-5ad1-bf70-a34e9b53cfc7_GEO">
                    <gml:pos>236060.77 576290.18</gml:pos>
                </gml:Point>
            </prg-ad:pozycja>
        </prg-ad:PRG_PunktAdresowy>
    </gml:featureMembers>
</gml:FeatureCollection>
