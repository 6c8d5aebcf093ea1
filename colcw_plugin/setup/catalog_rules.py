"""How a host line's product type, category and manufacturer map to ConnectWise: the one reader of
the admin's product mappings.

The quote export (once per run), the pre-flight check and the mapping pages all read the rules
through :class:`CatalogRules`, so they cannot disagree: a manufacturer alias is an explicit choice
and wins over a same-named manufacturer; with "use ChannelOnline's names" a line's own category
and sub-category are used as they are (the mapping table is kept but not read: a fix that maps a pair says to
switch the mode), with the mapping only the row for exactly that pair.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import CategoryMapping, ManufacturerAlias, ProductTypeMapping, Settings

# The mapping mode's choice as the Categories section words it (the start of its radio button's label).
MAPPING_MODE = "Use the mapping below"
# How the Categories section names a category's row for its lines without a sub-category ("Hardware / " and this).
NO_SUBCATEGORY = "(lines without a sub-category)"


@dataclass(frozen=True)
class Target:
    """A ConnectWise record by name, with its id when the mapping was checked against ConnectWise."""

    name: str
    id: int | None = None


@dataclass(frozen=True)
class CatalogRules:
    """The product mappings, read once (see the module doc)."""

    category_mode: str
    types: dict[str, Target]
    aliases: dict[str, Target]
    categories: dict[tuple[str, str], tuple[Target, Target]]

    @classmethod
    def load(cls, session: Session, settings: Settings) -> CatalogRules:
        types = {m.host_type: Target(m.cw_type_name, m.cw_type_id)
                 for m in session.execute(select(ProductTypeMapping)).scalars() if m.cw_type_name}
        aliases = {a.host_name: Target(a.cw_manufacturer_name, a.cw_manufacturer_id)
                   for a in session.execute(select(ManufacturerAlias)).scalars() if a.cw_manufacturer_name}
        cats = {(c.host_category, c.host_subcategory or ""): (Target(c.cw_category_name, c.cw_category_id),
                                                              Target(c.cw_subcategory_name, c.cw_subcategory_id))
                for c in session.execute(select(CategoryMapping)).scalars()}
        return cls(settings.category_mode or "names", types, aliases, cats)

    @property
    def by_mapping(self) -> bool:
        """Categories come from the mapping table (else from the line's own names)."""
        return self.category_mode == "mapping"

    def product_type_for(self, host_type: str) -> Target | None:
        """The ConnectWise product type of a host product type (None when unmapped)."""
        return self.types.get(host_type)

    def category_for(self, category: str, subcategory: str) -> tuple[Target, Target] | None:
        """The ConnectWise (category, sub-category) of a host line; None when nothing applies (no mapping
        row, or in names mode a line without a category and sub-category)."""
        if not self.by_mapping:
            return (Target(category), Target(subcategory)) if category and subcategory else None
        return self.mapped_pair(category, subcategory)

    def mapped_pair(self, category: str, subcategory: str) -> tuple[Target, Target] | None:
        """The mapping table's row for a host pair, in either mode (in names mode it is saved but not used)."""
        pair = self.categories.get((category, subcategory or ""))
        return pair if pair is not None and pair[0].name and pair[1].name else None

    def alias_for(self, host_name: str) -> Target | None:
        """The admin's alias of a host manufacturer name, if any."""
        return self.aliases.get(host_name)

    def manufacturer_for(self, host_name: str) -> Target:
        """The ConnectWise manufacturer of a host name: its alias, else the same name."""
        return self.aliases.get(host_name) or Target(host_name)
