"""The register of who has voted: an identity key per person, never how they voted.

The key is an HMAC-SHA256, with a server secret, of the person's normalised full name, date of
birth and address, so that the same person typed by a voting-point clerk from an ID card and
by the voter online gives the same key, and a database dump without the secret reveals nobody
(no name is stored; guessing needs the secret). ``pb_voter_register`` has PRIMARY KEY (edition,
identity_key): a second ballot of the same person, on any channel, is refused by the database.

The secret: ``CIVICMAP_VOTER_SECRET`` (hex or text), else one generated once and kept in
``var/voter_secret`` (mode 0600). Changing it mid-edition would let a person vote twice: keep
it with the database backups, apart from them.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import date

from civic import N_
from civic.pb.errors import PbError
from geo.config import VAR_DIR

# words of an address that people write or leave out at will
_ADDRESS_NOISE = {
    "ul",
    "ulica",
    "al",
    "aleja",
    "aleje",
    "os",
    "osiedle",
    "pl",
    "plac",
    "m",
    "lok",
    "mieszk",
    "krakow",
    "kraków",
}
_POSTCODE = re.compile(r"\b\d{2}\s*-\s*\d{3}\b")
_TRANSLIT = str.maketrans({"ł": "l", "Ł": "l", "ß": "ss", "ø": "o", "đ": "d"})


def _fold(value: str) -> str:
    """Lower case, no diacritics (ł -> l as well), letters and digits only, single spaces."""
    v = unicodedata.normalize("NFKD", value.translate(_TRANSLIT))
    v = "".join(c for c in v if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^0-9a-z]+", " ", v).split())


def normalise_name(full_name: str) -> str:
    """Words sorted, so "Kowalska Anna" equals "Anna Kowalska"."""
    return " ".join(sorted(_fold(full_name).split()))


def normalise_address(address: str) -> str:
    """Street, number and flat, without postcode, city and the "ul."/"m." words:
    "ul. Długa 5 m. 3, 31-147 Kraków" -> "dluga 5 3"."""
    v = _fold(_POSTCODE.sub(" ", address))
    return " ".join(w for w in v.split() if w not in _ADDRESS_NOISE)


@dataclass(frozen=True)
class Identity:
    full_name: str
    birth_date: date
    address: str

    def normalised(self) -> str:
        return "|".join(
            (
                normalise_name(self.full_name),
                self.birth_date.isoformat(),
                normalise_address(self.address),
            )
        )


def parse_identity(
    full_name: str | None, birth_date: str | date | None, address: str | None
) -> Identity:
    """Checked input (PbError naming the field); the values themselves are never stored."""
    name = (full_name or "").strip()
    if len(normalise_name(name).split()) < 2 or len(name) > 200:
        raise PbError("full_name", "full_name", N_("Podaj imię i nazwisko."))
    if isinstance(birth_date, date):
        born = birth_date
    else:
        try:
            born = date.fromisoformat((birth_date or "").strip())
        except ValueError:
            raise PbError(
                "birth_date", "birth_date", N_("Podaj datę urodzenia (RRRR-MM-DD).")
            ) from None
    if not date(1900, 1, 1) <= born <= date.today():
        raise PbError("birth_date", "birth_date", N_("Podaj datę urodzenia (RRRR-MM-DD)."))
    addr = (address or "").strip()
    if not normalise_address(addr) or len(addr) > 300:
        raise PbError("address", "address", N_("Podaj adres zamieszkania."))
    return Identity(name, born, addr)


def voter_secret() -> bytes:
    env = os.environ.get("CIVICMAP_VOTER_SECRET")
    if env:
        return env.encode()
    path = VAR_DIR / "voter_secret"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def identity_key(identity: Identity, secret: bytes | None = None) -> bytes:
    """32 bytes: HMAC-SHA256(secret, normalised name | date of birth | address)."""
    return hmac.new(
        secret or voter_secret(), identity.normalised().encode(), hashlib.sha256
    ).digest()
