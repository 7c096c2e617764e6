"""What the data generator and the benchmark share: where the bench databases live, the sizes,
and the account that signs in as Owner of the whale workspace."""

import os
from dataclasses import dataclass

from crm.config import INSTANCE_DIR

PG_SUPERUSER_URL = os.environ.get("PG_SUPERUSER_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_DATABASE = "kehu_bench"
PG_APP_URL = f"postgresql://kehu_app@127.0.0.1:5432/{PG_DATABASE}"
PG_OWNER_URL = f"postgresql://kehu_owner@127.0.0.1:5432/{PG_DATABASE}"
SQLITE_PATH = INSTANCE_DIR / "bench.sqlite3"
SQLITE_URL = f"sqlite:///{SQLITE_PATH}"

WHALE_EMAIL = "whale-owner@bench.example.com"
WHALE_PASSWORD = "kehu-bench-password"  # noqa: S105  (a throwaway bench account)
WHALE_NAME = "Whale Trading Co"


@dataclass(frozen=True)
class Size:
    workspaces: int
    contacts: int  # in the whole database
    whale: int  # of which in the whale workspace
    companies: int
    deals: int  # in the whole database
    whale_deals: int  # of which in the whale workspace: its board's 2,000 open ones, the rest won or lost
    activities: int  # in the whole database, spread over the workspaces as their contacts are


SIZES = {
    "S": Size(
        workspaces=10, contacts=10_000, whale=1_000, companies=3_000, deals=5_000, whale_deals=2_500, activities=30_000
    ),
    "M": Size(
        workspaces=1_000,
        contacts=1_000_000,
        whale=200_000,
        companies=300_000,
        deals=500_000,
        whale_deals=20_000,
        activities=3_000_000,
    ),
}


def database_env(db: str) -> dict[str, str]:
    """DATABASE_URL (the app role) and MIGRATION_DATABASE_URL (the table owner) of a bench database."""
    if db == "postgresql":
        return {"DATABASE_URL": PG_APP_URL, "MIGRATION_DATABASE_URL": PG_OWNER_URL}
    return {"DATABASE_URL": SQLITE_URL, "MIGRATION_DATABASE_URL": SQLITE_URL}
