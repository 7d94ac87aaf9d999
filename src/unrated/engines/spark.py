"""``--engine spark``: train ``ials`` with Spark MLlib's ALS and return the same ``IALS`` model.

Spark reads the file (a local path or any URI it can read: ``hdfs://``, ``s3a://``,
``abfss://``, ``dbfs:/``), merges duplicate pairs, numbers the ids in sorted order (so
``users_`` and ``items_`` equal what :func:`unrated.read_interactions` gives) and trains ALS
with ``implicitPrefs=True``. Only the factors, the id vocabularies and the training pairs come
back to this process; seen-item exclusion and top-K stay in unrated (Spark's
``recommendForAllUsers`` does not leave out seen items). Executors need only the JVM: no
Python code runs on them.

How ``ials`` parameters map to ALS (Hu et al. 2008, as Spark implements it):

Spark minimises Σ_obs (1 + α_S r)(1 − x·y)² + Σ_unobserved (x·y)² + λ_S (Σ_u n_u ‖x_u‖² +
Σ_i n_i ‖y_i‖²): zeros weigh 1, and each row's penalty is λ_S times its number of pairs n
(ALS-WR, Zhou et al. 2008). unrated's ``ials`` minimises Σ_obs c (1 − w·h)² + Σ_all α0 (w·h)² +
λ Σ_u (C_u + α0 |I|)^ν ‖w_u‖² + λ Σ_i (C_i + α0 |U|)^ν ‖h_i‖² (C: a row's confidence mass).

* With binary confidence the two losses are the same up to a constant factor when
  x = √(1+α0)·w, y = √(1+α0)·h, α_S = 1/α0 and ratings r = 1; the penalties then match if
  λ_S n = λ (1+α0)/α0 · (n + α0·|other side|)^ν. ALS has no term for α0·|other side|: it
  is matched at the mean row, λ_S = λ (1+α0)/α0 · (C̄ + α0·|other side|)^ν / n̄, which for
  ν = 1 is the same for users and items (1 + α0/density) and otherwise their geometric mean.
  Light rows are regularised less than by ``ials``, heavy rows more.
* ``log`` and ``linear`` confidences send r = c (unrated's confidence) with α_S = 1/α0, so
  Spark's weight is 1 + c/α0. unrated pulls a pair of confidence c to c/(c+α0), Spark to 1:
  the same for binary data, close otherwise.
* ``factors`` → ``rank``, ``epochs`` → ``maxIter`` (Spark solves items then users per
  iteration, exactly by Cholesky: ``solver`` and ``cg_steps`` do not apply), ``seed`` →
  ``seed`` (Spark's own initialisation, so the factors differ from a local fit's), uniform
  unobserved weights only (``unobserved_exponent`` must be 0).
* The factors are divided by √(1+α0), back to unrated's scale. Fold-in of new users
  (``recommend_history``) solves unrated's own objective against Spark's item factors.

Measured on MovieLens-100k (20% holdout, seed 0; ``benchmarks/results/engines.md``):
NDCG@20 0.4467 on Spark against 0.4448 locally at the ``ials`` defaults, 0.4415 against
0.4423 at 64 factors and 8 epochs: within 0.002 both ways.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

import numpy as np

from unrated.data._text import guess_delimiter
from unrated.data.ids import IdIndex
from unrated.data.interactions import build_interactions
from unrated.data.io import find_columns
from unrated.engines._spark_session import spark_session
from unrated.errors import DataError, DataWarning, EngineError, InvalidParameterError
from unrated.models.ials import AUTO_UNOBSERVED_MASS, IALS

_TEXT_SUFFIXES = (".csv", ".tsv", ".tab", ".txt")
#: ALS writes its factors to the checkpoint folder every this many iterations, cutting a
#: lineage that would overflow the JVM's stack after many; Spark's 10 cost ML-100k's
#: 16-iteration fit a third of its time (41 s against 29 s on local[2]).
CHECKPOINT_INTERVAL = 20


def fit_spark(
    source: str | os.PathLike[str],
    model: IALS | None = None,
    *,
    master: str | None = None,
    conf: Mapping[str, str] | None = None,
    user_col: str | None = None,
    item_col: str | None = None,
    weight_col: str | None = None,
) -> IALS:
    """Train ``model`` (an unfitted ``IALS``; default parameters if None) on Spark.

    Args:
        source: CSV/TSV (``.gz`` too) or Parquet (a file or a folder of parts), local or any
            URI Spark reads.
        model: the parameters to train with; it is returned fitted.
        master: Spark master URL (``local[4]``, ``yarn``, ``k8s://...``, ``spark://...``);
            None: the running session's (under ``spark-submit``), else ``local[*]``.
        conf: extra Spark settings, e.g. ``{"spark.executor.memory": "8g"}``.
        user_col: the user id column, as for :func:`unrated.read_interactions`.
        item_col: the item id column.
        weight_col: the weight column (``""`` ignores one that would be found).

    Raises:
        EngineError: PySpark or Java is missing, or Spark failed.
        DataError: the data cannot be read as interactions.
    """
    model = IALS() if model is None else model
    if not isinstance(model, IALS):
        raise InvalidParameterError(
            f"--engine spark trains 'ials' only (Spark MLlib ALS), got {model.key!r}"
        )
    model.check_params()
    if model.unobserved_exponent != 0.0:
        raise InvalidParameterError(
            "--engine spark weighs every unobserved pair alike: 'unobserved_exponent' must "
            f"be 0, got {model.unobserved_exponent}"
        )
    with spark_session(master, conf) as spark:
        return _fit(spark, str(source), model, conf or {}, (user_col, item_col, weight_col))


def _fit(
    spark: Any,
    source: str,
    model: IALS,
    conf: Mapping[str, str],
    columns: tuple[str | None, str | None, str | None],
) -> IALS:
    from pyspark.ml.recommendation import ALS
    from pyspark.sql import functions as sf
    from pyspark.storagelevel import StorageLevel

    frame = _read(spark, source)
    blocks = max(spark.sparkContext.defaultParallelism, frame.rdd.getNumPartitions())
    if "spark.sql.shuffle.partitions" not in conf:
        spark.conf.set("spark.sql.shuffle.partitions", str(blocks))
    pairs = _pairs(frame, source, *columns).persist(StorageLevel.MEMORY_AND_DISK)
    users, user_numbers = _number(spark, pairs, "user")
    items, item_numbers = _number(spark, pairs, "item")
    coded = (
        pairs.join(user_numbers, "user")
        .join(sf.broadcast(item_numbers) if len(items) < 10_000_000 else item_numbers, "item")
        .select(sf.col("user_idx").cast("int"), sf.col("item_idx").cast("int"), "weight")
        .withColumn("confidence", _confidence(model, sf.col("weight")))
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    pairs.unpersist()
    n_users, n_items = len(users), len(items)
    nnz, mass = coded.agg(sf.count("*"), sf.sum("confidence")).first()
    alpha0 = model.unobserved_weight
    if alpha0 is None:
        alpha0 = min(1.0, AUTO_UNOBSERVED_MASS / n_items)
    reg = spark_regularization(model, alpha0, n_users, n_items, int(nnz), float(mass))
    als = ALS(
        rank=model.factors,
        maxIter=model.epochs,
        regParam=reg,
        alpha=1.0 / alpha0,
        implicitPrefs=True,
        userCol="user_idx",
        itemCol="item_idx",
        ratingCol="confidence",
        seed=model.seed,
        numUserBlocks=blocks,
        numItemBlocks=blocks,
        coldStartStrategy="nan",
        checkpointInterval=CHECKPOINT_INTERVAL,
    )
    fitted = als.fit(coded)
    scale = np.float32(1.0 / math.sqrt(1.0 + alpha0))
    user_factors = _factors(fitted.userFactors, n_users, model.factors) * scale
    item_factors = _factors(fitted.itemFactors, n_items, model.factors) * scale
    table = coded.select("user_idx", "item_idx", "weight").toArrow()
    coded.unpersist()
    data = build_interactions(
        table.column("user_idx").to_numpy(),
        table.column("item_idx").to_numpy(),
        table.column("weight").to_numpy(),
        users,
        items,
    )
    # info: the ALS parameters the model was trained with (see this module's docstring)
    spark_params = {
        "rank": model.factors,
        "maxIter": model.epochs,
        "regParam": reg,
        "alpha": 1.0 / alpha0,
        "blocks": blocks,
    }
    return model.restore(
        users=users,
        items=items,
        seen=data.matrix,
        arrays={
            "user_factors": user_factors,
            "item_factors": item_factors,
            "unobserved_weights": np.full(n_items, alpha0, dtype=np.float32),
        },
        info={"engine": "spark", "spark_params": spark_params},
        trained_on=data.fingerprint(),
    )


def spark_regularization(
    model: IALS, alpha0: float, n_users: int, n_items: int, nnz: int, mass: float
) -> float:
    """ALS's ``regParam`` for ``model``'s λ, ν at α0 (the module docstring derives it)."""
    lam, nu = model.regularization, model.regularization_exponent
    factor = lam * (1.0 + alpha0) / alpha0
    by_user = factor * (mass / n_users + alpha0 * n_items) ** nu / (nnz / n_users)
    by_item = factor * (mass / n_items + alpha0 * n_users) ** nu / (nnz / n_items)
    return math.sqrt(by_user * by_item)


def _confidence(model: IALS, weight: Any) -> Any:
    from pyspark.sql import functions as sf

    if model.confidence == "binary":
        return sf.lit(1.0)
    if model.confidence == "log":
        return 1.0 + model.alpha * sf.log1p(weight)
    return 1.0 + model.alpha * weight


def _read(spark: Any, source: str) -> Any:
    """The file as a Spark DataFrame: text files with every cell a string, as written."""
    from pyspark.errors import AnalysisException

    name = PurePosixPath(source.rstrip("/"))
    suffixes = [s.lower() for s in name.suffixes]
    text = any(s in _TEXT_SUFFIXES for s in suffixes)
    try:
        if not text:
            return spark.read.parquet(source)
        head = spark.read.text(source).first()
        if head is None:
            raise DataError("the file is empty", path=source)
        separator = guess_delimiter(name, str(head[0]))
        frame = spark.read.csv(source, header=True, sep=separator, inferSchema=False)
    except AnalysisException as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        if "PATH_NOT_FOUND" in message:
            raise DataError("file not found", path=source) from None
        raise DataError(f"Spark cannot read it ({message})", path=source) from None
    renamed = [c.strip().lstrip("\ufeff") for c in frame.columns]
    return frame.toDF(*renamed)


def _pairs(
    frame: Any, source: str, user_col: str | None, item_col: str | None, weight_col: str | None
) -> Any:
    """Columns ``user, item, weight``: checked as read_interactions checks, duplicates summed."""
    from pyspark.sql import functions as sf
    from pyspark.sql import types as st

    user, item, _, weight = find_columns(
        frame.columns, user_col=user_col, item_col=item_col, weight_col=weight_col, path=source
    )
    ids = {}
    checks = []
    for role, name in (("user", user), ("item", item)):
        kind = frame.schema[name].dataType
        column = sf.col(f"`{name}`")
        if isinstance(kind, st.FloatType | st.DoubleType | st.DecimalType):
            checks.append((f"fractional {role} ids", column != sf.floor(column)))
            column = column.cast("long")
        elif not isinstance(kind, st.IntegralType | st.StringType):
            column = column.cast("string")
        empty = column.isNull()
        if isinstance(frame.schema[name].dataType, st.StringType):
            empty = empty | (sf.trim(column) == "")
        checks.append((f"empty {role} ids (column '{name}')", empty))
        ids[role] = column.alias(role)
    amount = sf.lit(1.0) if weight is None else sf.trim(sf.col(f"`{weight}`").cast("string"))
    amount = amount.cast("double")
    if weight is not None:
        bad = amount.isNull() | sf.isnan(amount) | (amount < 0) | (amount == float("inf"))
        checks.append((f"weights that are not finite numbers ≥ 0 (column '{weight}')", bad))
    checks.append(("zero weights", amount == 0))
    counts = frame.agg(
        sf.count("*"), *[sf.sum(sf.when(test, 1).otherwise(0)) for _, test in checks]
    ).first()
    if counts[0] == 0:
        raise DataError("no interactions: the data has a header but no rows", path=source)
    for (what, _), count in zip(checks[:-1], counts[1:-1], strict=True):
        if count:
            raise DataError(f"{count} rows with {what}", path=source)
    if counts[-1]:
        warnings.warn(
            f"{counts[-1]} rows with weight 0 were dropped (a zero is no interaction)",
            DataWarning,
            stacklevel=4,
        )
        if counts[-1] == counts[0]:
            raise DataError("no interactions: every weight is 0", path=source)
    rows = frame.select(ids["user"], ids["item"], amount.alias("weight")).where("weight > 0")
    return rows.groupBy("user", "item").agg(sf.sum("weight").alias("weight"))


def _number(spark: Any, pairs: Any, role: str) -> tuple[IdIndex, Any]:
    """The sorted distinct ids of ``role`` (an IdIndex) and a frame ``role, role_idx``.

    Numbers are assigned in Spark without moving the ids to one partition: each sorted
    partition's rows are counted, and a row's number is its partition's offset plus its
    place in the partition.
    """
    from pyspark.sql import functions as sf

    numbered = (
        pairs.select(role)
        .distinct()
        .orderBy(role)
        .withColumn("_part", sf.spark_partition_id())
        .withColumn("_row", sf.monotonically_increasing_id())
        .localCheckpoint()  # freezes the partitioning that the numbers depend on
    )
    table = numbered.toArrow()
    parts = table.column("_part").to_numpy()
    sizes = np.bincount(parts) if len(parts) else np.zeros(0, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    if len(table) >= 2**31 - 1:
        raise EngineError(f"Spark ALS numbers {role}s with 32-bit ints; got {len(table):,}")
    rows = [(int(p), int(offsets[p]) - (int(p) << 33)) for p in np.flatnonzero(sizes)]
    shift = spark.createDataFrame(rows, "_part int, _shift long")
    index = numbered.join(sf.broadcast(shift), "_part").select(
        role, (sf.col("_row") + sf.col("_shift")).alias(f"{role}_idx")
    )
    ids = table.column(role).to_numpy(zero_copy_only=False)
    return IdIndex(ids if ids.dtype.kind in "iu" else ids.astype(object)), index


def _factors(frame: Any, n_rows: int, rank: int) -> np.ndarray:
    """ALS's ``id, features`` frame as an (n_rows, rank) float32 array (zeros if absent)."""
    table = frame.toArrow()
    out = np.zeros((n_rows, rank), dtype=np.float32)
    if len(table):
        features = table.column("features").combine_chunks().flatten().to_numpy()
        out[table.column("id").to_numpy()] = features.reshape(-1, rank)
    return out
