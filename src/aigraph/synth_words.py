"""The words synthetic announcements are made of: prefixes, kinds of resource, pools of names.

None of the agencies, hosts, places or people is in the bundled data, so synthetic data and the
bundled announcement can be loaded together.
"""

# The tables read best a few entries to a line.
# fmt: off
PREFIXES = {
    "aig": "https://w3id.org/aigraph/ontology#",
    "adms": "http://www.w3.org/ns/adms#",
    "dcterms": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "org": "http://www.w3.org/ns/org#",
    "prov": "http://www.w3.org/ns/prov#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "schema": "http://schema.org/",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
#: Prefix -> kind of resource minted under ``<base>/id/<kind>/``.
KINDS = {
    "article": "article", "orgn": "organisation", "initiative": "initiative",
    "person": "person", "post": "post", "role": "role", "grant": "grant",
    "currency": "currency", "node": "node", "study": "study", "place": "place",
    "quote": "quote", "count": "count",
}

# Pools of shared resources (none of them is in the bundled data, so both can be loaded together).
AGENCIES = [
    ("formas", "Formas", "Formas", "schema:GovernmentOrganization"),
    ("vetenskapsradet", "Vetenskapsrådet", "Swedish Research Council", "schema:GovernmentOrganization"),
    ("energimyndigheten", "Energimyndigheten", "Swedish Energy Agency", "schema:GovernmentOrganization"),
    ("tillvaxtverket", "Tillväxtverket", "Swedish Agency for Economic and Regional Growth",
     "schema:GovernmentOrganization"),
    ("forte", "Forte", "Forte", "schema:GovernmentOrganization"),
    ("rymdstyrelsen", "Rymdstyrelsen", "Swedish National Space Agency", "schema:GovernmentOrganization"),
    ("kk-stiftelsen", "KK-stiftelsen", "Knowledge Foundation", "org:Organization"),
    ("ssf", "Stiftelsen för strategisk forskning", "Swedish Foundation for Strategic Research",
     "org:Organization"),
    ("region-skane", "Region Skåne", "Region Skåne", "org:Organization"),
    ("region-uppsala", "Region Uppsala", "Region Uppsala", "org:Organization"),
    ("region-vasterbotten", "Region Västerbotten", "Region Västerbotten", "org:Organization"),
    ("region-ostergotland", "Region Östergötland", "Region Östergötland", "org:Organization"),
]
HOSTS = [
    ("ideon-science-park", "Ideon Science Park AB"), ("uppsala-universitet", "Uppsala universitet"),
    ("umea-universitet", "Umeå universitet"), ("lulea-tekniska-universitet", "Luleå tekniska universitet"),
    ("mobility-sweden", "Mobility Sweden"), ("norrkoping-science-park", "Norrköping Science Park AB"),
    ("jonkoping-university", "Jönköping University"), ("karlstads-universitet", "Karlstads universitet"),
]
PLACES = [
    ("malmo", "Malmö", "Malmö"), ("lund", "Lund", "Lund"), ("uppsala", "Uppsala", "Uppsala"),
    ("umea", "Umeå", "Umeå"), ("lulea", "Luleå", "Luleå"), ("vasteras", "Västerås", "Västerås"),
    ("norrkoping", "Norrköping", "Norrköping"), ("jonkoping", "Jönköping", "Jönköping"),
    ("karlstad", "Karlstad", "Karlstad"), ("sundsvall", "Sundsvall", "Sundsvall"),
    ("gavle", "Gävle", "Gävle"), ("halmstad", "Halmstad", "Halmstad"), ("kalmar", "Kalmar", "Kalmar"),
    ("vaxjo", "Växjö", "Växjö"), ("boras", "Borås", "Borås"), ("skovde", "Skövde", "Skövde"),
    ("karlskrona", "Karlskrona", "Karlskrona"), ("ostersund", "Östersund", "Östersund"),
    ("falun", "Falun", "Falun"), ("visby", "Visby", "Visby"), ("kiruna", "Kiruna", "Kiruna"),
    ("helsingborg", "Helsingborg", "Helsingborg"), ("eskilstuna", "Eskilstuna", "Eskilstuna"),
    ("trollhattan", "Trollhättan", "Trollhättan"),
]
REGIONS = [("sverige-rike", "Sverige (riket)", "Sweden (the realm)")]
ROLES = [
    ("director", "Verksamhetschef", "Director"), ("programme-manager", "Programchef", "Programme manager"),
    ("director-general", "Generaldirektör", "Director General"), ("chair", "Ordförande", "Chair"),
]
CURRENCIES = [("sek", "SEK", "svensk krona", "Swedish krona"), ("eur", "EUR", "euro", "euro")]
THEMES = [
    ("ai", "AI"), ("data", "Data"), ("quantum", "Quantum"), ("health", "Health Tech"),
    ("mobility", "Mobility"), ("energy", "Energy"), ("space", "Space"), ("robotics", "Robotics"),
]
FORMS = [("hub", "Hub"), ("lab", "Lab"), ("arena", "Arena"), ("center", "Center"), ("alliance", "Alliance")]
FIRST = ["Anna", "Erik", "Maria", "Lars", "Karin", "Johan", "Eva", "Anders", "Sara", "Per",
         "Lena", "Nils", "Ingrid", "Oskar", "Sofia", "Mikael"]
LAST = ["Lindqvist", "Berg", "Holm", "Sandberg", "Nyström", "Ek", "Lund", "Wallin", "Björk",
        "Forsberg", "Åberg", "Hedlund"]
APPROXIMATIONS = [("aig:justOver", "dryga"), ("aig:nearly", "nära"), ("aig:soon", "snart")]
# fmt: on
