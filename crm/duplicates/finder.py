"""Finding contacts that may be one person: the same email address (score 100), the same phone
number (95), or a similar name in the same company (79-90, from rapidfuzz's token-sort ratio).

An address or number held by more than ``MAX_SHARED`` contacts (a switchboard, info@) says
nothing about who is who and is left out; so are names in companies with more than
``MAX_COMPARED`` contacts, where only identical names are paired (comparing every name with every
other grows with the square of the company's size).
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import combinations, groupby

import sqlalchemy as sa
from rapidfuzz import fuzz, process, utils

from crm.contacts.models import Company, Contact, ContactIdentity
from crm.extensions import db

EMAIL_SCORE, PHONE_SCORE = 100, 95
NAME_MIN_RATIO = 88
MAX_SHARED = 20
MAX_COMPARED = 2000
BATCH = 1000


@dataclass(frozen=True)
class Candidate:
    contact_id: int  # the lower id
    other_id: int
    score: int
    reason: str  # "email", "phone" or "name"
    detail: str  # the shared address or number, or the company's name


def candidate(a: int, b: int, score: int, reason: str, detail: str) -> Candidate:
    return Candidate(min(a, b), max(a, b), score, reason, detail[:320])


@dataclass(frozen=True)
class Match:
    """A live contact that looks like the one being typed or saved."""

    contact_id: int
    score: int
    reason: str
    detail: str


def name_score(ratio: float) -> int:
    return round(ratio * 0.9)


def similar_names(a: str, b: str) -> float | None:
    ratio = fuzz.token_sort_ratio(a, b, processor=utils.default_process)
    return ratio if ratio >= NAME_MIN_RATIO else None


def best(candidates: Iterable[Candidate]) -> dict[tuple[int, int], Candidate]:
    """The strongest reason per pair."""
    found: dict[tuple[int, int], Candidate] = {}
    for item in candidates:
        key = (item.contact_id, item.other_id)
        if key not in found or item.score > found[key].score:
            found[key] = item
    return found


def _live_identities() -> sa.Select:
    return (
        sa.select(ContactIdentity.kind, ContactIdentity.value, ContactIdentity.contact_id)
        .join(
            Contact,
            sa.and_(Contact.workspace_id == ContactIdentity.workspace_id, Contact.id == ContactIdentity.contact_id),
        )
        .where(Contact.deleted_at.is_(None))
    )


def shared_identities() -> Iterator[Candidate]:
    """Pairs of live contacts holding the same email address or phone number."""
    live = _live_identities().subquery()
    shared = (
        sa.select(live.c.kind, live.c.value)
        .group_by(live.c.kind, live.c.value)
        .having(sa.func.count(sa.distinct(live.c.contact_id)).between(2, MAX_SHARED))
        .subquery()
    )
    statement = (
        sa.select(live.c.kind, live.c.value, live.c.contact_id)
        .join(shared, sa.and_(shared.c.kind == live.c.kind, shared.c.value == live.c.value))
        .order_by(live.c.kind, live.c.value, live.c.contact_id)
    )
    rows = db.session.execute(statement).yield_per(BATCH)
    for (kind, value), holders in groupby(rows, key=lambda row: (row.kind, row.value)):
        ids = sorted({row.contact_id for row in holders})
        score = EMAIL_SCORE if kind == "email" else PHONE_SCORE
        for a, b in combinations(ids, 2):
            yield candidate(a, b, score, kind, value)


def similar_names_in_companies() -> Iterator[Candidate]:
    statement = (
        sa.select(Contact.company_id, Contact.id, Contact.name, Company.name.label("company"))
        .join(Company, sa.and_(Company.workspace_id == Contact.workspace_id, Company.id == Contact.company_id))
        .where(Contact.deleted_at.is_(None))
        .order_by(Contact.company_id, Contact.id)
    )
    rows = db.session.execute(statement).yield_per(BATCH)
    for _company_id, people in groupby(rows, key=lambda row: row.company_id):
        people = list(people)
        if len(people) > 1:
            yield from _pairs_by_name(people)


def _pairs_by_name(people: list) -> Iterator[Candidate]:
    names = [utils.default_process(person.name) for person in people]
    if len(people) > MAX_COMPARED:
        by_name = sorted(range(len(people)), key=lambda i: names[i])
        for _name, same in groupby(by_name, key=lambda i: names[i]):
            for i, j in combinations(list(same)[:MAX_SHARED], 2):
                yield candidate(people[i].id, people[j].id, name_score(100), "name", people[i].company)
        return
    for i, name in enumerate(names[:-1]):
        later = names[i + 1 :]
        # At most MAX_SHARED look-alikes each: 2,000 people of one name would otherwise be 2 million pairs.
        for _match, ratio, offset in process.extract(
            name, later, scorer=fuzz.token_sort_ratio, score_cutoff=NAME_MIN_RATIO, limit=MAX_SHARED
        ):
            other = people[i + 1 + offset]
            yield candidate(people[i].id, other.id, name_score(ratio), "name", people[i].company)


def for_contact(
    contact_id: int | None, name: str, emails: list[str], phones: list[str], company_id: int | None, limit: int = 5
) -> list[Match]:
    """Live contacts that look like this one (being typed, or just saved), strongest first."""
    found: dict[int, Match] = {}
    values = [("email", value) for value in emails] + [("phone", value) for value in phones]
    if values:
        statement = _live_identities().where(
            sa.tuple_(ContactIdentity.kind, ContactIdentity.value).in_(values)
            if len(values) > 1
            else sa.and_(ContactIdentity.kind == values[0][0], ContactIdentity.value == values[0][1])
        )
        for row in db.session.execute(statement.limit(MAX_SHARED * len(values))):
            if row.contact_id != contact_id:
                score = EMAIL_SCORE if row.kind == "email" else PHONE_SCORE
                _keep_best(found, Match(row.contact_id, score, row.kind, row.value))
    if company_id and name.strip():
        for match in _same_company(contact_id, name, company_id):
            _keep_best(found, match)
    return sorted(found.values(), key=lambda match: (-match.score, match.contact_id))[:limit]


def _keep_best(found: dict[int, Match], match: Match) -> None:
    if match.contact_id not in found or match.score > found[match.contact_id].score:
        found[match.contact_id] = match


def _same_company(contact_id: int | None, name: str, company_id: int) -> Iterator[Match]:
    statement = (
        sa.select(Contact.id, Contact.name, Company.name.label("company"))
        .join(Company, sa.and_(Company.workspace_id == Contact.workspace_id, Company.id == Contact.company_id))
        .where(Contact.company_id == company_id, Contact.deleted_at.is_(None))
        .limit(MAX_COMPARED)
    )
    for row in db.session.execute(statement):
        ratio = similar_names(name, row.name)
        if row.id != contact_id and ratio is not None:
            yield Match(row.id, name_score(ratio), "name", row.company)
