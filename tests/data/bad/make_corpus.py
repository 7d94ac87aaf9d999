"""Write the malformed-input corpus of this folder (run once; the files are committed).

Each file is a way real purchase logs go wrong; test_bad_inputs.py says what unrated must
do with each: read it correctly, or refuse it with one line naming file, line, column, value.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import polars as pl

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


if __name__ == "__main__":
    main()
