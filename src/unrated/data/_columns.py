"""Which columns hold the user, item, time, weight, basket (and name): found by name, never twice.

A role (user, item, ...) is the column named for it, else the one column whose lower-cased
name is a recognised name of that role. Two columns that could fill one role are an error
naming both, so a header ``user_id,item_id,USER_ID`` never silently reads the wrong one.
"""

from __future__ import annotations

from unrated.errors import DataError

USER_COLUMNS = (
    "user_id",
    "user",
    "userid",
    "customer_id",
    "customer",
    "customerid",
    "client_id",
    "visitor_id",
    "member_id",
    "buyer_id",
    "account_id",
    "uid",
)
ITEM_COLUMNS = (
    "item_id",
    "item",
    "itemid",
    "product_id",
    "product",
    "productid",
    "sku",
    "stockcode",
    "stock_code",
    "article_id",
    "movie_id",
    "movieid",
    "track_id",
    "artist_id",
    "song_id",
    "iid",
)
TIME_COLUMNS = (
    "timestamp",
    "time",
    "date",
    "datetime",
    "ts",
    "event_time",
    "created_at",
    "order_date",
    "purchase_date",
    "invoicedate",
    "invoice_date",
)
#: An order column (a customer's n-th line): the time when no time column is found.
POSITION_COLUMNS = ("position", "pos", "seq", "step")
BASKET_COLUMNS = (
    "basket_id",
    "basket",
    "order_id",
    "orderid",
    "order_no",
    "invoice",
    "invoiceno",
    "invoice_no",
    "invoice_id",
    "invoice_number",
    "transaction_id",
    "transactionid",
    "transaction",
    "receipt_id",
    "receipt",
    "cart_id",
    "checkout_id",
)
NAME_COLUMNS = ("name", "title", "product_name", "item_name", "label", "description")
#: Item names in an interactions file (not "name", which could name the user).
LOG_NAME_COLUMNS = ("item_name", "product_name", "title", "description")
#: Quantities, where ``clean`` finds returns when the weight column is ignored.
QUANTITY_COLUMNS = ("quantity", "qty")
WEIGHT_COLUMNS = ("weight", "count", "quantity", "qty", "rating", "plays", "value")

#: Roles whose recognised names are ranked: the first in the list wins (a name beats a
#: description). For the other roles, two candidates are ambiguous.
_RANKED = ("name",)


def find_column(
    columns: list[str],
    given: str | None,
    candidates: tuple[str, ...],
    role: str,
    path: str | None,
    *,
    required: bool,
    taken: frozenset[str] = frozenset(),
) -> str | None:
    """The column for ``role``: ``given`` if named (``""`` for none), else found by name.

    Columns in ``taken`` (named for another role) are not candidates.
    """
    if given == "":
        return None
    if given is not None:
        if given not in columns:
            raise DataError(
                f"no {role} column named {given!r}; columns found: {', '.join(columns)}",
                path=path,
            )
        return given
    matches = [c for c in columns if c.lower() in candidates and c not in taken]
    if role in _RANKED and matches:
        best = min(candidates.index(c.lower()) for c in matches)
        matches = [c for c in matches if candidates.index(c.lower()) == best]
    if len(matches) > 1:
        flag = f"--{role}-col" if role != "name" else "name_col="
        raise DataError(
            f"{len(matches)} columns could be the {role} column: "
            f"{', '.join(repr(c) for c in matches)}; name the one to use with {flag}"
            + ("" if required else f" (or {flag} '' for none)"),
            path=path,
        )
    if matches:
        return matches[0]
    if required:
        raise DataError(
            f"no {role} column found; columns found: {', '.join(columns) or '(none)'}; "
            f"name one with --{role}-col (recognised names: {', '.join(candidates[:6])}, ...)",
            path=path,
        )
    return None


def require_column(
    columns: list[str],
    given: str | None,
    candidates: tuple[str, ...],
    role: str,
    path: str | None,
    *,
    taken: frozenset[str] = frozenset(),
) -> str:
    """:func:`find_column` for a role that must be filled."""
    found = find_column(columns, given or None, candidates, role, path, required=True, taken=taken)
    if found is None:  # unreachable: required=True raises instead
        raise DataError(f"no {role} column", path=path)
    return found


def find_columns(
    columns: list[str],
    *,
    user_col: str | None = None,
    item_col: str | None = None,
    time_col: str | None = None,
    weight_col: str | None = None,
    path: str | None = None,
) -> tuple[str, str, str | None, str | None]:
    """The user, item, time and weight columns among ``columns`` (time, weight optional).

    Each is the named column if given (``""`` ignores an optional one), else the only column
    whose lower-cased name is a recognised one (``USER_COLUMNS`` etc.) and that is not named
    for another role. One column in two roles, or two candidates for one, is an error.
    """
    named: dict[str, str] = {}
    roles = (("user", user_col), ("item", item_col), ("time", time_col), ("weight", weight_col))
    for role, given in roles:
        if given and given in named:
            raise DataError(
                f"column {given!r} is named for two roles: {named[given]} and {role}", path=path
            )
        if given:
            named[given] = role
    taken = frozenset(named)
    user = require_column(columns, user_col, USER_COLUMNS, "user", path, taken=taken)
    taken |= {user}
    item = require_column(columns, item_col, ITEM_COLUMNS, "item", path, taken=taken)
    taken |= {item}
    time = find_column(columns, time_col, TIME_COLUMNS, "time", path, required=False, taken=taken)
    if time is None and time_col is None:
        time = find_column(
            columns, None, POSITION_COLUMNS, "time", path, required=False, taken=taken
        )
    taken |= {time} if time else set()
    weight = find_column(
        columns, weight_col, WEIGHT_COLUMNS, "weight", path, required=False, taken=taken
    )
    return user, item, time, weight
