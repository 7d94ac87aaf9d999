"""New interactions merged into the data a model has seen: known ids keep their positions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from unrated.data.ids import IdIndex
from unrated.data.interactions import Interactions


@dataclass(frozen=True)
class Merged:
    """All the data after an update, and what the new interactions touched.

    Attributes:
        data: the old pairs plus the new ones (weights of a pair seen again are summed);
            old users and items first, in their old positions, then the new ones.
        users: positions of the users in the new interactions (sorted, unique).
        items: positions of the items in the new interactions (sorted, unique).
        new_users: how many users the new interactions added.
        new_items: how many items they added.
    """

    data: Interactions
    users: np.ndarray
    items: np.ndarray
    new_users: int
    new_items: int


def merge(users: IdIndex, items: IdIndex, seen: sp.csr_matrix, new: Interactions) -> Merged:
    """``seen`` (over ``users`` × ``items``) plus ``new``, on the extended vocabularies."""
    all_users, user_at = users.extended(new.users.ids.tolist(), kind="user")
    all_items, item_at = items.extended(new.items.ids.tolist(), kind="item")
    shape = (len(all_users), len(all_items))
    pairs = new.matrix.tocoo()
    added = sp.csr_matrix(
        (pairs.data.astype(np.float32), (user_at[pairs.row], item_at[pairs.col])), shape=shape
    )
    indptr = np.concatenate(
        [seen.indptr, np.full(shape[0] - seen.shape[0], seen.indptr[-1], seen.indptr.dtype)]
    )
    old = sp.csr_matrix((seen.data, seen.indices, indptr), shape=shape)
    matrix = sp.csr_matrix(old + added, dtype=np.float32)
    matrix.sort_indices()
    matrix.eliminate_zeros()
    return Merged(
        data=Interactions(matrix, all_users, all_items),
        users=np.unique(user_at[pairs.row]),
        items=np.unique(item_at[pairs.col]),
        new_users=len(all_users) - len(users),
        new_items=len(all_items) - len(items),
    )
