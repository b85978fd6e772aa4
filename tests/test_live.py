"""Live updates of the console's lists, without a browser: which rows an update touches.

The browser tests (test_console_live.py) show the same on a real page; here a small model of a
``<tbody>`` applies the patches as htmx 4 does (every target resolved first, then each patch in
order), so any list of rows can be tried.
"""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from detente.web.live import (
    EMPTY_ROW,
    Page,
    Pages,
    Patch,
    Shown,
    View,
    digest,
    patches,
    row_dom_id,
    row_patches,
)


class Row:
    """A row element: what the page holds, with an identity that a replacement does not keep."""

    def __init__(self, rid: str, html: str) -> None:
        self.rid, self.html = rid, html


def apply(rows: list[Row], ps: list[Patch], container: str = "rows") -> list[Row]:
    out = list(rows)
    by_id = {r.rid: r for r in rows}
    targets = [by_id.get(p.target) for p in ps]  # htmx resolves all targets before swapping

    def parse(fragment: str) -> list[Row]:
        return [Row(m[1], m[0]) for m in re.finditer(r'<tr id="([^"]+)">[^<]*</tr>', fragment)]

    for p, el in zip(ps, targets, strict=True):
        if p.target == container:
            assert p.swap == "afterbegin"
            out[0:0] = parse(p.html)
        elif el is None or el not in out:
            continue  # as htmx: a target gone or never there is skipped
        elif p.swap == "delete":
            out.remove(el)
        elif p.swap == "afterend":
            i = out.index(el) + 1
            out[i:i] = parse(p.html)
        elif p.swap == "outerHTML":
            i = out.index(el)
            out[i : i + 1] = parse(p.html)
        else:
            raise AssertionError(p.swap)
    return out


def tr(rid: str, text: str) -> tuple[str, str]:
    return rid, f'<tr id="{rid}">{text}</tr>'


def page(rows: list[tuple[str, str]]) -> list[Row]:
    return [Row(rid, html) for rid, html in rows]


def shown(rows: list[tuple[str, str]]) -> list[tuple[str, bytes]]:
    return [(rid, digest(html)) for rid, html in rows]


def test_a_row_id_is_a_plain_css_id_and_distinct_for_distinct_messages():
    assert row_dom_id("RU-MOD/12") == "row-RU-MOD_2F12"
    ids = ["RU-MOD/12", "RU-MOD/1_2", "RU_MOD/12", "RU-MOD_2F12", "Україна/1", "a b/1", "x\"'<>/1"]
    made = [row_dom_id(i) for i in ids]
    assert len(set(made)) == len(ids)
    assert all(re.fullmatch(r"row-[A-Za-z0-9_-]+", m) for m in made)
    assert EMPTY_ROW not in made


def test_an_update_with_no_change_sends_no_row():
    rows = [tr("a", "1"), tr("b", "2")]
    assert row_patches(shown(rows), rows, "rows") == []


def test_a_changed_row_alone_is_replaced():
    before = [tr("a", "1"), tr("b", "2"), tr("c", "3")]
    after = [tr("a", "1"), tr("b", "2 overdue"), tr("c", "3")]
    assert row_patches(shown(before), after, "rows") == [Patch("b", "outerHTML", after[1][1])]


def test_a_new_row_goes_in_after_the_row_above_it_and_at_the_top_into_the_list():
    before = [tr("a", "1"), tr("c", "3")]
    after = [tr("n0", "top"), tr("a", "1"), tr("b", "new"), tr("m", "new too"), tr("c", "3")]
    assert row_patches(shown(before), after, "rows") == [
        Patch("rows", "afterbegin", after[0][1]),
        Patch("a", "afterend", after[2][1] + after[3][1]),
    ]


def test_a_row_that_left_the_list_is_deleted():
    before = [tr("a", "1"), tr("b", "2")]
    assert row_patches(shown(before), [tr("b", "2")], "rows") == [Patch("a", "delete")]


def test_when_the_order_changes_only_the_rows_out_of_order_move():
    before = [tr("a", "1"), tr("b", "2"), tr("c", "3"), tr("d", "4")]
    after = [tr("b", "2"), tr("c", "3"), tr("d", "4"), tr("a", "1")]
    assert row_patches(shown(before), after, "rows") == [
        Patch("a", "delete"),
        Patch("d", "afterend", after[3][1]),
    ]


def test_a_new_row_under_a_changed_row_is_inserted_before_that_row_is_replaced():
    before = [tr("a", "1"), tr("c", "3")]
    after = [tr("a", "1 acknowledged"), tr("b", "new"), tr("c", "3")]
    ps = row_patches(shown(before), after, "rows")
    assert [p.swap for p in ps] == ["afterend", "outerHTML"]
    assert [(r.rid, r.html) for r in apply(page(before), ps)] == after


def test_an_empty_list_gets_its_empty_row_and_loses_it_when_a_message_arrives():
    empty = [tr(EMPTY_ROW, "nothing")]
    one = [tr("a", "1")]
    assert [(r.rid, r.html) for r in apply(page(empty), row_patches(shown(empty), one, "rows"))] == one
    assert [(r.rid, r.html) for r in apply(page(one), row_patches(shown(one), empty, "rows"))] == empty


def test_a_page_whose_state_is_unknown_gets_every_part_and_the_whole_list():
    view = View({"banner": "<p>b</p>"}, (tr("a", "1"), tr("b", "2")))
    assert patches(None, view) == [
        Patch("banner", "innerHTML", "<p>b</p>"),
        Patch("rows", "innerHTML", view.rows_html()),
    ]
    assert patches(view.shown(), view) == []


def test_a_part_is_sent_only_when_its_html_changed():
    before = View({"banner": "<p>b</p>", "msgstate": "<h2>sent</h2>"})
    after = View({"banner": "<p>b</p>", "msgstate": "<h2>overdue</h2>"})
    assert patches(before.shown(), after) == [Patch("msgstate", "innerHTML", "<h2>overdue</h2>")]


def test_a_page_is_held_by_one_connection_at_a_time_and_the_oldest_is_forgotten_first():
    pages = Pages(limit=2)
    for token in ("p1", "p2", "p3"):
        pages.put(token, Page("duty", "inbox", None, Shown({}), ""))
    assert len(pages) == 2
    assert pages.take("p1") is None
    assert pages.take("p2") is not None
    assert pages.take("p2") is None


row_ids = st.sampled_from([f"m{i}" for i in range(8)])
lists = st.lists(st.tuples(row_ids, st.sampled_from(["x", "y"])), unique_by=lambda r: r[0], max_size=8)


@given(lists, lists)
def test_any_list_becomes_the_new_list_and_unchanged_rows_in_order_keep_their_elements(old, new):
    before = [tr(rid, text) for rid, text in old]
    after = [tr(rid, text) for rid, text in new]
    elements = page(before)
    result = apply(elements, row_patches(shown(before), after, "rows"))
    assert [(r.rid, r.html) for r in result] == after
    # With nothing reordered, every row whose HTML is the same is the very same element.
    kept = [rid for rid, _ in before if rid in dict(after)]
    if kept == [rid for rid, _ in after if rid in dict(before)]:
        same = {rid for rid, html in before if dict(after).get(rid) == html}
        original = {r.rid: r for r in elements}
        assert all(r is original[r.rid] for r in result if r.rid in same)
