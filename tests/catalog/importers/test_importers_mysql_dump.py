"""The MySQL dump reader: literals, escapes, comments and statement boundaries, without a MySQL server."""

from __future__ import annotations

import pytest

from mercato.catalog.importers import CatalogFormatError
from mercato.catalog.importers.mysql_dump import read_tables, unquote


def test_string_escapes() -> None:
    assert unquote(r"'it\'s'") == "it's"
    assert unquote("'Canon''s'") == "Canon's"
    assert unquote(r"'a\\b'") == "a\\b"
    assert unquote(r"'line\r\nnext\ttab\0'") == "line\r\nnext\ttab\0"
    assert unquote(r"'100\%'") == "100\\%"  # MySQL keeps the backslash before % and _
    assert unquote('"say ""hi"""') == 'say "hi"'
    assert unquote(r"'\q'") == "q"


def test_values_statements_and_comments() -> None:
    dump = (
        "-- MySQL dump 10.13\n"
        "/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;\n"
        "# a hash comment; with a semicolon\n"
        "INSERT INTO `t` (`id`, `name`, `price`, `note`) VALUES\n"
        "(1, 'semi;colon', '1.50', NULL),\n"
        "(2, 'INSERT INTO `t` VALUES (9)', -3.25, _utf8mb4'x'), /* inline */\n"
        "(3, 'a\\'b''c', 1e3, TRUE);\n"
        "INSERT IGNORE INTO `db`.`t` (`id`, `name`, `price`, `note`) VALUES (4, '', 0, NOW());\n"
        "INSERT INTO `other` (`a`) VALUES (1);\n"
    )
    tables = read_tables(dump, {"t"})
    assert list(tables) == ["t"]
    assert tables["t"] == [
        {"id": "1", "name": "semi;colon", "price": "1.50", "note": None},
        {"id": "2", "name": "INSERT INTO `t` VALUES (9)", "price": "-3.25", "note": "x"},
        {"id": "3", "name": "a'b'c", "price": "1e3", "note": "1"},
        {"id": "4", "name": "", "price": "0", "note": "NOW ( )"},
    ]
    assert read_tables(dump)["other"] == [{"a": "1"}]


def test_insert_without_columns_uses_create_table() -> None:
    dump = (
        "CREATE TABLE IF NOT EXISTS `p` (\n  `id` int NOT NULL,\n  `price` decimal(15,4) DEFAULT '0.0000',\n"
        "  `name` varchar(5),\n  PRIMARY KEY (`id`),\n  KEY `name` (`name`)\n) ENGINE=InnoDB;\n"
        "INSERT INTO `p` VALUES (1,'2.0000','x'),(2,'3.0000','y');\n"
    )
    assert read_tables(dump)["p"] == [{"id": "1", "price": "2.0000", "name": "x"},
                                      {"id": "2", "price": "3.0000", "name": "y"}]


@pytest.mark.parametrize(
    ("dump", "message"),
    [
        ("INSERT INTO `t` (`a`) VALUES ('open);\n", "unterminated ' quote on line 1"),
        ("INSERT INTO `t` (`a`, `b`) VALUES (1);\n", "a row of 1 values for the 2 columns of `t`"),
        ("INSERT INTO `t` VALUES (1);\n", "inserts into `t` without naming its columns"),
        ("INSERT INTO `t` (`a`) VALUES (1) (2);\n", "unexpected '\\(' in a VALUES list on line 1"),
        ("INSERT INTO `t` (`a`) VALUES (1, 2", "ends inside a VALUES tuple"),
    ],
)
def test_malformed_dumps(dump: str, message: str) -> None:
    with pytest.raises(CatalogFormatError, match=message):
        read_tables(dump)
