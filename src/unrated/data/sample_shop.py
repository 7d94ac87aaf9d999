"""The bundled sample shop: a small, readable, generated purchase log with product names.

Everything is generated from seeded random numbers and the word lists in ``_shop_words``;
nothing comes from a real data set. Equal arguments give equal frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from unrated._checks import check_int
from unrated.data import _shop_words as words

_START = 1_704_067_200  # 2024-01-01 00:00:00 UTC, in seconds
_DAYS = 366


@dataclass(frozen=True, eq=False)
class SampleShop:
    """A generated shop: its purchase log and its catalogue.

    Attributes:
        purchases: one row per customer, product and time of purchase: ``customer_id``
            ("C00042"), ``order_id`` ("O00007": a customer's rows at one time, numbered
            in order of time), ``product_id`` ("P0137"), ``timestamp`` (datetime, during
            2024) and ``quantity`` (int ≥ 1). Sorted by time.
        products: the catalogue: ``product_id``, ``name`` ("Organic Green Tea 250 g") and
            ``category`` ("Tea & Coffee"); some products may never be bought.
    """

    purchases: pl.DataFrame
    products: pl.DataFrame


def make_sample_shop(*, customers: int = 2000, products: int = 600, seed: int = 0) -> SampleShop:
    """Generate a small online shop with learnable, realistic structure.

    Customers favour a few of 12 categories (Dirichlet) and, within them, products close to
    their taste (latent factors); popularity follows a power law; staples are bought again;
    complements are bought together (printer → ink); orders spread over 2024. With the
    defaults: 2,000 customers, 600 products, about 48,000 purchase rows (28,000 distinct
    customer-product pairs), generated in about 0.2 s.

    Args:
        customers: number of customers; every one buys at least once.
        products: number of products, at least one per category (12).
        seed: the random seed.
    """
    customers = check_int(customers, "customers", "make_sample_shop")
    products = check_int(products, "products", "make_sample_shop", minimum=len(words.CATALOGUE))
    rng = np.random.default_rng(seed)
    names, category, log_weight, factors, anchors, partners = _make_catalogue(products, rng)
    staple_rate, extra_quantity = words.STAPLE_RATE[category], words.EXTRA_QUANTITY[category]

    # Tastes: over categories (a few dominate), then within them (latent factors).
    category_taste = rng.dirichlet(2.0 * words.DEMAND / words.DEMAND.sum(), size=customers)
    user_factors = rng.normal(0.0, 1.0, (customers, factors.shape[1]))
    logits = log_weight + user_factors @ factors.T / np.sqrt(factors.shape[1])
    logits -= logits.max(axis=1, keepdims=True)
    category_sums = np.exp(logits) @ np.eye(len(words.CATALOGUE))[category]
    log_p = np.log(category_taste[:, category] + 1e-300) + logits
    log_p -= np.log(category_sums[:, category])

    # Distinct products per customer (lognormal), drawn without replacement (Gumbel top-k).
    n_distinct = np.clip(np.rint(rng.lognormal(np.log(9.0), 0.9, customers)), 1, products // 3)
    n_distinct = n_distinct.astype(np.int64)
    keys = log_p + rng.gumbel(size=log_p.shape)
    top = np.argsort(-keys, axis=1)[:, : int(n_distinct.max())]
    chosen = np.arange(top.shape[1]) < n_distinct[:, None]
    user, item = np.nonzero(chosen)[0], top[chosen]
    base_order = rng.random(len(user))  # which of the customer's orders, as a fraction

    # Complements join the anchor's order; a product already chosen is kept once.
    per_anchor = np.bincount(anchors, minlength=products)  # anchors are sorted
    n_edges = per_anchor[item]
    edge_row = np.repeat(np.arange(len(item)), n_edges)
    edge = (
        np.arange(len(edge_row))
        - np.repeat(np.cumsum(n_edges) - n_edges, n_edges)
        + (np.cumsum(per_anchor) - per_anchor)[item[edge_row]]
    )
    taken = rng.random(len(edge)) < 0.5
    user = np.concatenate([user, user[edge_row[taken]]])
    item = np.concatenate([item, partners[edge[taken]]])
    base_order = np.concatenate([base_order, base_order[edge_row[taken]]])
    _, first = np.unique(user * products + item, return_index=True)
    user, item, base_order = user[first], item[first], base_order[first]

    # Staples are bought again on other dates; some rows buy several at once.
    again = (rng.random(len(item)) < staple_rate[item]) * (1 + rng.poisson(1.0, len(item)))
    rows = np.repeat(np.arange(len(item)), 1 + again)
    order_fraction = rng.random(len(rows))
    is_first = np.ones(len(rows), dtype=bool)
    is_first[1:] = rows[1:] != rows[:-1]
    order_fraction[is_first] = base_order
    user, item = user[rows], item[rows]
    quantity = 1 + rng.poisson(extra_quantity[item])
    seconds = _order_times(user, order_fraction, customers, rng)
    return SampleShop(
        _purchase_frame(user, item, seconds, quantity, customers, products),
        _product_frame(names, category),
    )


def _make_catalogue(
    n: int, rng: np.random.Generator
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Names, categories, log popularity, latent factors and complement pairs of n products."""
    quota = (n - len(words.CATALOGUE)) * (0.4 + words.DEMAND) / (0.4 + words.DEMAND).sum()
    counts = 1 + np.floor(quota).astype(np.int64)  # at least one product per category
    counts[np.argsort(counts - quota)[: n - counts.sum()]] += 1
    names: list[str] = []
    brand_names: list[str] = []  # every category's brands, in catalogue order
    all_nouns: list[str] = []  # and product nouns
    category, brand, noun = [], [], []
    for c, lists in enumerate(words.CATALOGUE.values()):
        brands, nouns, sizes = (text.split("|") for text in lists)
        noun_order = rng.permutation(len(nouns))
        variants = [rng.permutation(len(brands) * len(sizes)) for _ in nouns]
        for j in range(int(counts[c])):
            k, m = int(noun_order[j % len(nouns)]), j // len(nouns)
            b, s = divmod(int(variants[k][m % len(variants[k])]), len(sizes))
            edition = f" No. {m // len(variants[k]) + 1}" if m >= len(variants[k]) else ""
            names.append(f"{brands[b]} {nouns[k]} {sizes[s]}{edition}")
            category.append(c)
            brand.append(len(brand_names) + b)
            noun.append(len(all_nouns) + k)
        all_nouns.extend(nouns)
        brand_names.extend(brands)
    cat, brand_id, noun_id = (np.array(x, dtype=np.int64) for x in (category, brand, noun))
    rank = np.empty(n, dtype=np.float64)  # Zipf popularity within each category
    for c in range(len(words.CATALOGUE)):
        members = np.flatnonzero(cat == c)
        rank[members] = rng.permutation(len(members)) + 1.0
    dim = 8
    noun_vectors = rng.normal(0.0, 1.0, (len(all_nouns), dim))
    brand_vectors = rng.normal(0.0, 0.6, (len(brand_names), dim))
    factors = noun_vectors[noun_id] + brand_vectors[brand_id] + rng.normal(0.0, 0.3, (n, dim))
    log_weight = -1.1 * np.log(rank)
    brand_of = np.array(brand_names, dtype=object)[brand_id]
    anchors, partners = [], []
    for pair in words.COMPLEMENTS.split("|"):
        first, second = (all_nouns.index(word) for word in pair.split(">"))
        candidates = np.flatnonzero(noun_id == second)
        for i in np.flatnonzero(noun_id == first):
            if len(candidates):
                same = candidates[brand_of[candidates] == brand_of[i]]
                pool = same if len(same) else candidates
                anchors.append(int(i))
                partners.append(int(pool[np.argmax(log_weight[pool])]))
    pairs = np.array(sorted(zip(anchors, partners, strict=True)), dtype=np.int64).reshape(-1, 2)
    return names, cat, log_weight, factors, pairs[:, 0], pairs[:, 1]


def _order_times(
    user: np.ndarray, order_fraction: np.ndarray, customers: int, rng: np.random.Generator
) -> np.ndarray:
    """Seconds since 2024-01-01 of each row's order, within its customer's active period."""
    rows_per_user = np.bincount(user, minlength=customers)
    n_orders = np.maximum(1, np.ceil(rows_per_user / (2 + rng.poisson(2.0, customers))))
    joined = np.where(rng.random(customers) < 0.5, 0.0, rng.uniform(0, _DAYS - 30, customers))
    left = np.where(rng.random(customers) < 0.25, rng.uniform(joined + 14, _DAYS), float(_DAYS))
    order = np.floor(order_fraction * n_orders[user]).astype(np.int64)
    order += (np.cumsum(n_orders) - n_orders).astype(np.int64)[user]
    total = int(n_orders.sum())
    day = np.floor(joined[user] + rng.random(total)[order] * (left - joined)[user])
    seconds: np.ndarray = (day * 86400 + 28800 + rng.random(total)[order] * 50400).astype(np.int64)
    return seconds


def _purchase_frame(
    user: np.ndarray,
    item: np.ndarray,
    seconds: np.ndarray,
    quantity: np.ndarray,
    customers: int,
    products: int,
) -> pl.DataFrame:
    frame = pl.DataFrame(
        {
            "customer": user,
            "product": item,
            "timestamp": _START + seconds,
            "quantity": quantity.astype(np.int64),
        }
    )
    frame = (
        frame.group_by("customer", "product", "timestamp")
        .agg(pl.col("quantity").sum())
        .sort("timestamp", "customer", "product")
    )
    # An order is a customer's rows at one time; numbered from 1 in order of time.
    order = frame.select(pl.struct("timestamp", "customer").rank("dense"))["timestamp"]
    return frame.select(
        _ids("C", frame["customer"], customers).alias("customer_id"),
        _ids("O", order, order.n_unique() + 1).alias("order_id"),
        _ids("P", frame["product"], products).alias("product_id"),
        pl.from_epoch("timestamp", time_unit="s").cast(pl.Datetime("us")),
        pl.col("quantity").cast(pl.Int64),
    )


def _product_frame(names: list[str], category: np.ndarray) -> pl.DataFrame:
    labels = np.array(list(words.CATALOGUE), dtype=object)[category]
    frame = pl.DataFrame(
        {"name": names, "category": labels.tolist()},
        schema={"name": pl.String, "category": pl.String},
    )
    return frame.select(
        _ids("P", pl.Series(np.arange(len(names))), len(names)).alias("product_id"),
        "name",
        "category",
    )


def _ids(prefix: str, codes: pl.Series, n: int) -> pl.Series:
    width = max(4 if prefix == "P" else 5, len(str(n - 1)))
    ids: pl.Series = prefix + codes.cast(pl.String).str.zfill(width)
    return ids
