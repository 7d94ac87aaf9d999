"""Write the malformed-input corpus of this folder (run once; the files are committed).

Each file is a way real purchase logs go wrong; test_bad_inputs.py says what unrated must
do with each: read it correctly, or refuse it with one line naming file, line, column, value.
"""

from __future__ import annotations

import bz2
import decimal
import gzip
import io
import lzma
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).parent
TEXT: dict[str, bytes] = {
    "semicolon_in_csv.csv": b"user_id;item_id\na;x\nb;y\n",
    "tab_in_csv.csv": b"user_id\titem_id\na\tx\nb\ty\n",
    "pipe_delimited.txt": b"user_id|item_id\na|x\nb|y\n",
    "bom.csv": b"\xef\xbb\xbfuser_id,item_id\na,x\nb,y\n",
    "crlf.csv": b"user_id,item_id\r\na,x\r\nb,y\r\n",
    "latin1.csv": b"user_id,item_id\na,caf\xe9\nb,y\n",
    "mixed_encoding.csv": "user_id,item_id\na,café\n".encode() + b"b,caf\xe9\nc,z\n",
    "quoted_newline.csv": b'user_id,item_id\n"a\nb",x\nc,y\n',
    "empty_lines.csv": b"user_id,item_id\n\na,x\n\n\nb,y\n\n",
    "nan_weight.csv": b"user_id,item_id,weight\na,x,1\nb,y,NaN\n",
    "negative_weight.csv": b"user_id,item_id,quantity\na,x,1\nb,y,-3\n",
    "huge_weight.csv": b"user_id,item_id,count\na,x,1\nb,y,1e400\n",
    "text_weight.csv": b"user_id,item_id,weight\na,x,1\nb,y,two\n",
    "decimal_comma_weight.csv": b"user_id;item_id;weight\na;x;1,5\nb;y;2\n",
    "zero_weights_only.csv": b"user_id,item_id,count\na,x,0\nb,y,0\n",
    "comma_in_id.csv": b'user_id,item_id\n"Smith, J.",x\n"Smith, J.",y\nb,x\n',
    "unicode_ids.csv": "user_id,item_id\nJosé,寿司\nJosé,🍣\nZoë,寿司\n".encode(),
    "whitespace_ids.csv": b"user_id,item_id\n42,x\n 42,x\n42 ,y\n",
    "int64_overflow_ids.csv": b"user_id,item_id\n9223372036854775808,1\n-9223372036854775809,2\n"
    b"18446744073709551616,1\n",
    "empty.csv": b"",
    "whitespace_only.csv": b"   \n\n  \n",
    "header_only.csv": b"user_id,item_id\n",
    "one_user.csv": b"user_id,item_id\na,x\na,y\na,z\n",
    "one_item.csv": b"user_id,item_id\na,x\nb,x\nc,x\n",
    "single_interaction_users.csv": b"user_id,item_id\na,x\nb,y\nc,z\nd,x\n",
    "too_many_fields.csv": b"user_id,item_id\na,x\nb,y,extra\n",
    "too_few_fields.csv": b"user_id,item_id,weight\na,x,1\nb\n",
    "empty_id_cell.csv": b"user_id,item_id\na,x\n,y\n",
    "no_id_columns.csv": b"customer,thing\na,x\n",
    "duplicate_header.csv": b"user_id,user_id,item_id\na,b,x\n",
    "trailing_delimiter.csv": b"user_id,item_id,\na,x,\nb,y,\n",
    "quoted_header.csv": b'"user_id","item_id"\n"a","x"\n"b","y"\n',
    "bad_timestamp.csv": b"user_id,item_id,timestamp\na,x,2024-01-01\nb,y,yesterday\n",
    "nul_bytes.csv": b"user_id,item_id\na,x\nb,\x00y\n",
    "png_renamed.csv": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01",
    "unclosed_quote.csv": b'user_id,item_id\na,"x\nb,y\n',
    "ambiguous_user_columns.csv": b"user_id,item_id,USER_ID\na,x,b\n",
    "two_user_candidates.csv": b"customer_id,user,item_id\na,b,x\n",
    "two_weight_candidates.csv": b"user_id,item_id,rating,count\na,x,5,1\n",
    "duplicate_header_after_spaces.csv": b"user_id, user_id,item_id\na,b,x\n",
    "zstd.csv.zst": b"\x28\xb5\x2f\xfd\x24\x10\x81\x00\x00user_id,item_id\n",
}
#: Parquet columns (pyarrow arrays, for exact types) besides ``item_id``: ["x", "y", "x"].
PARQUET: dict[str, dict[str, pa.Array]] = {
    "uint64_ids.parquet": {"user_id": pa.array([2**64 - 1, 2**63, 5], pa.uint64())},
    "binary_utf8_ids.parquet": {"user_id": pa.array([b"caf\xc3\xa9", b"b", b"b"])},
    "decimal_ids.parquet": {
        "user_id": pa.array([decimal.Decimal(10**30), decimal.Decimal(7)] * 2, pa.decimal128(38))[
            :3
        ]
    },
    "categorical_ids.parquet": {"user_id": pa.array(["a", "b", "a"]).dictionary_encode()},
    "binary_invalid_utf8_ids.parquet": {"user_id": pa.array([b"a", b"\xff\xfe", b"c"])},
    "date_ids.parquet": {"user_id": pa.array([None, 18000, 18001], pa.int32()).cast(pa.date32())},
    "struct_ids.parquet": {"user_id": pa.array([{"a": 1}, {"a": 2}, {"a": 3}])},
    "bool_ids.parquet": {"user_id": pa.array([True, False, True])},
    "infinite_float_ids.parquet": {"user_id": pa.array([1.0, float("inf"), 2.0])},
    "float_ids_beyond_2_53.parquet": {"user_id": pa.array([1.0, 2.0**60, 2.0])},
    "fractional_decimal_ids.parquet": {
        "user_id": pa.array(
            [decimal.Decimal("1.00"), decimal.Decimal("2.50")] * 2, pa.decimal128(5, 2)
        )[:3]
    },
    "binary_invalid_utf8_weight.parquet": {
        "user_id": pa.array(["a", "b", "c"]),
        "weight": pa.array([b"1", b"2\xff", b"3"]),
    },
    "list_time.parquet": {
        "user_id": pa.array(["a", "b", "c"]),
        "timestamp": pa.array([[1], [2], [3]]),
    },
}


def main() -> None:
    for name, content in TEXT.items():
        (HERE / name).write_bytes(content)
    whole = gzip.compress(
        b"user_id,item_id\n" + b"".join(f"u{i},i{i % 7}\n".encode() for i in range(500))
    )
    (HERE / "truncated.csv.gz").write_bytes(whole[: len(whole) // 2])
    (HERE / "good.csv.gz").write_bytes(whole)
    buffer = io.BytesIO()
    pl.DataFrame({"user_id": [1.5, 2.0], "item_id": ["x", "y"]}).write_parquet(buffer)
    (HERE / "fractional_ids.parquet").write_bytes(buffer.getvalue())
    buffer = io.BytesIO()
    pl.DataFrame({"user_id": [[1, 2], [3]], "item_id": ["x", "y"]}).write_parquet(buffer)
    (HERE / "list_ids.parquet").write_bytes(buffer.getvalue())
    buffer = io.BytesIO()
    pl.DataFrame({"user_id": ["a", None], "item_id": ["x", "y"]}).write_parquet(buffer)
    (HERE / "null_id.parquet").write_bytes(buffer.getvalue())
    buffer = io.BytesIO()
    pl.DataFrame(
        {"user_id": ["a", "b"], "item_id": ["x", "y"], "weight": ["1", "lots"]}
    ).write_parquet(buffer)
    (HERE / "string_weight.parquet").write_bytes(buffer.getvalue())
    (HERE / "not_parquet.parquet").write_bytes(b"user_id,item_id\na,x\n")
    plain = b"user_id,item_id\n" + b"".join(f"u{i},i{i % 7}\n".encode() for i in range(500))
    (HERE / "good.csv.bz2").write_bytes(bz2.compress(plain))
    (HERE / "good.csv.xz").write_bytes(lzma.compress(plain))
    (HERE / "truncated.csv.xz").write_bytes(lzma.compress(plain)[:300])
    (HERE / "png_gzipped.csv.gz").write_bytes(gzip.compress(TEXT["png_renamed.csv"], mtime=0))
    for name, columns in PARQUET.items():
        table = pa.table({**columns, "item_id": pa.array(["x", "y", "x"])})
        pq.write_table(table, HERE / name)


if __name__ == "__main__":
    main()
