"""Organizacje pozarządowe: where Kraków's NGOs work and what they do."""

from __future__ import annotations

from layers._titles import t
from layers.base import PUBLIC, Field, Layer, OgcMeta, Style

# Sfery działalności pożytku publicznego (art. 4 ustawy o działalności pożytku publicznego
# i o wolontariacie), grouped to the fields a city office reports on.
FIELDS_OF_ACTIVITY = {
    "social_assistance": t("pomoc społeczna", "social assistance", "соціальна допомога"),
    "charity": t("działalność charytatywna", "charity", "благодійність"),
    "health": t("ochrona i promocja zdrowia", "health", "охорона здоров'я"),
    "disability": t(
        "osoby z niepełnosprawnościami", "people with disabilities", "люди з інвалідністю"
    ),
    "seniors": t("seniorzy", "seniors", "літні люди"),
    "family": t("wspieranie rodziny", "family support", "підтримка сім'ї"),
    "children_youth": t("dzieci i młodzież", "children and youth", "діти та молодь"),
    "education": t("edukacja, oświata i wychowanie", "education", "освіта"),
    "culture": t("kultura, sztuka, dziedzictwo", "culture and heritage", "культура та спадщина"),
    "sport": t("kultura fizyczna i sport", "sport", "спорт"),
    "tourism": t("turystyka i krajoznawstwo", "tourism", "туризм"),
    "ecology": t("ekologia i ochrona zwierząt", "ecology and animals", "екологія та тварини"),
    "public_safety": t(
        "porządek i bezpieczeństwo publiczne", "public safety", "громадська безпека"
    ),
    "local_community": t("rozwój wspólnot lokalnych", "local communities", "місцеві громади"),
    "human_rights": t("prawa człowieka i obywatela", "human and civil rights", "права людини"),
    "foreigners": t("integracja cudzoziemców", "integration of foreigners", "інтеграція іноземців"),
    "employment": t("aktywizacja zawodowa", "employment", "працевлаштування"),
    "volunteering": t("wolontariat", "volunteering", "волонтерство"),
    "revitalisation": t("rewitalizacja", "revitalisation", "ревіталізація"),
    "other": t("inne", "other", "інше"),
}

# Whom an organisation's offer is for (the profile's "target groups").
TARGET_GROUPS = {
    "children": t("dzieci", "children", "діти"),
    "youth": t("młodzież", "young people", "молодь"),
    "adults": t("dorośli", "adults", "дорослі"),
    "seniors": t("seniorzy", "seniors", "літні люди"),
    "families": t("rodziny", "families", "сім'ї"),
    "people_with_disabilities": t(
        "osoby z niepełnosprawnościami", "people with disabilities", "люди з інвалідністю"
    ),
    "homeless": t("osoby w kryzysie bezdomności", "homeless people", "безпритульні"),
    "migrants": t("migranci i uchodźcy", "migrants and refugees", "мігранти та біженці"),
    "unemployed": t("osoby bezrobotne", "unemployed people", "безробітні"),
    "women": t("kobiety", "women", "жінки"),
    "animals": t("zwierzęta", "animals", "тварини"),
    "everyone": t("wszyscy mieszkańcy", "all residents", "усі мешканці"),
}

# Legal forms of a non-governmental organisation (art. 3 of the Act on public benefit activity).
LEGAL_FORMS = {
    "association": t("stowarzyszenie", "association", "асоціація"),
    "foundation": t("fundacja", "foundation", "фонд"),
    "ordinary_association": t(
        "stowarzyszenie zwykłe", "ordinary association", "звичайна асоціація"
    ),
    "church_entity": t("kościelna osoba prawna", "church legal person", "церковна юридична особа"),
    "other": t("inna", "other", "інша"),
}

PLACE_KINDS = {
    "seat": t("siedziba", "seat", "осідок"),
    "branch": t("oddział / miejsce działania", "branch", "філія"),
}

LAYER = Layer(
    name="ngos",
    table="ngo_locations",
    titles=t("Organizacje pozarządowe", "NGO locations", "Громадські організації"),
    descriptions=t(
        "Siedziby i miejsca działania organizacji pozarządowych z obszarami działalności pożytku publicznego.",
        "Where NGOs are based and work, with their fields of public-benefit activity.",
        "Де розташовані та працюють громадські організації, з напрямами їхньої діяльності.",
    ),
    geometry_types=("Point",),
    fields=(
        Field(
            "name",
            "text",
            t("Nazwa", "Name", "Назва"),
            required=True,
            max_length=300,
            msip_name="NAZWA",
        ),
        Field(
            "krs", "text", t("Numer KRS", "KRS number", "Номер KRS"), max_length=10, msip_name="KRS"
        ),
        Field(
            "address", "text", t("Adres", "Address", "Адреса"), max_length=300, msip_name="ADRES"
        ),
        Field(
            "fields",
            "text[]",
            t("Obszary działalności", "Fields of activity", "Напрями діяльності"),
            choices=tuple(FIELDS_OF_ACTIVITY),
            choice_titles=FIELDS_OF_ACTIVITY,
            msip_name="OBSZARY",
            filter=True,
        ),
        Field(
            "target_groups",
            "text[]",
            t("Dla kogo", "Target groups", "Цільові групи"),
            choices=tuple(TARGET_GROUPS),
            choice_titles=TARGET_GROUPS,
            msip_name="ADRESACI",
            filter=True,
        ),
        Field(
            "kind",
            "enum",
            t("Rodzaj miejsca", "Kind of place", "Тип місця"),
            choices=tuple(PLACE_KINDS),
            choice_titles=PLACE_KINDS,
            msip_name="RODZAJ",
            filter=True,
        ),
        Field(
            "place_name",
            "text",
            t("Nazwa miejsca", "Place name", "Назва місця"),
            max_length=200,
            msip_name="MIEJSCE",
        ),
        Field(
            "organisation_id",
            "int",
            t("Profil organizacji", "Organisation profile", "Профіль організації"),
            msip_name="ORG_ID",
            filter=True,  # ?organisation_id= : the places of one profile (its page's map)
        ),
        Field(
            "districts_served",
            "int[]",
            t("Dzielnice działania", "Districts served", "Райони діяльності"),
            msip_name="DZ_DZIAL",
        ),
        Field(
            "website",
            "text",
            t("Strona WWW", "Website", "Вебсайт"),
            max_length=300,
            msip_name="WWW",
        ),
        Field(
            "demo",
            "bool",
            t("Dane demonstracyjne", "Demo data", "Демонстраційні дані"),
            msip_name="DEMO",
        ),
    ),
    title_field="name",
    style=Style(color="#33a02c", fill_color="#b2df8a"),
    popup_fields=("name", "kind", "address", "fields", "target_groups", "krs"),
    list_fields=("name", "kind", "address", "fields"),
    read_roles=frozenset({PUBLIC}),
    write_roles=frozenset({"ngo", "official", "admin"}),
    reference=False,
    order_by="name, id",
    # A place of an organisation profile is public once a moderator has published the profile;
    # imported places without a profile are public as before.
    public_where=(
        "t.organisation_id IS NULL OR t.organisation_id IN "
        "(SELECT o.id FROM ngo_organisations o WHERE o.status = 'public')"
    ),
    ogc=OgcMeta(keywords=("organizacje pozarządowe", "NGO")),
)
