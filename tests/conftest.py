"""Make the collection importable by its FQCN path (the checkout is linked under .collections)."""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COLLECTIONS = REPO / ".collections"
if not (COLLECTIONS / "ansible_collections" / "easymo" / "rollback").exists():
    raise RuntimeError("run `make setup` first: it links the checkout under .collections/")
sys.path.insert(0, str(COLLECTIONS))
