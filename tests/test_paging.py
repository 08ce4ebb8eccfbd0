"""The pages of a series, numbered from the oldest: what each holds, what its navigation links."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sitegen.core import urls
from sitegen.pages.paging import FRONT, NEAR, linked, pagination, place, series, series_page

counts, per_pages = st.integers(0, 400), st.integers(1, 30)


@given(counts, per_pages)
def test_every_item_is_on_one_page_in_order_the_front_holding_per_page_to_twice_less_one(count, per_page):
    items = list(range(count))  # newest first
    pages = series(items, per_page)
    assert [item for _, _, chunk in pages for item in chunk] == items
    numbers = [number for number, _, _ in pages]
    top = pages[0][1]
    assert numbers == [FRONT, *range(top, 0, -1)] and all(t == top for _, t, _ in pages)
    front = pages[0][2]
    assert all(len(chunk) == per_page for _, _, chunk in pages[1:])
    assert len(front) == count if count < 2 * per_page else per_page <= len(front) < 2 * per_page
    for number, top, chunk in pages:
        assert series_page(items, per_page, number) == (number, top, chunk)
        assert pages[place(number, top)][0] == number


@given(counts, per_pages, st.integers(1, 120))
def test_stories_newer_than_all_leave_every_numbered_page_holding_what_it_held(count, per_page, added):
    before = {number: chunk for number, _, chunk in series([("old", n) for n in range(count)], per_page)}
    after_pages = series([("new", n) for n in range(added)] + [("old", n) for n in range(count)], per_page)
    after = {number: chunk for number, _, chunk in after_pages}
    for number, chunk in before.items():
        if number != FRONT:
            assert after[number] == chunk  # page-N.html holds the same stories, for good
    top_before, top_after = series(list(range(count)), per_page)[0][1], after_pages[0][1]
    for number in range(1, top_before + 1):
        if number < top_before - NEAR:  # far enough below the top: it links the same pages, its key stands
            assert linked(number, top_before) == linked(number, top_after)


@given(st.integers(0, 60), st.data())
def test_a_page_links_the_front_its_neighbours_and_the_oldest_newest_first(top, data):
    current = data.draw(st.sampled_from([FRONT, *range(1, top + 1)]))
    shown = linked(current, top)
    assert shown[0] == FRONT and (top == 0 or shown[-1] == 1) and current in shown
    numbered = [number for number in shown if number != FRONT]
    assert numbered == sorted(numbered, reverse=True) and len(set(numbered)) == len(numbered)
    at = top + 1 if current == FRONT else current
    for number in range(1, top + 1):
        assert (number in shown) == (abs(number - at) <= NEAR or number == 1)


def test_the_navigation_of_a_page_links_newer_and_older_with_gaps_between_numbers_only():
    nav = pagination("page-5.html", 5, 12, ("en", "auto", "Latest"), urls.index_page)
    labels = [page.get("label", "…") for page in nav["pages"]]
    assert labels == ["Latest", "7", "6", "5", "4", "3", "…", "1"]  # no gap after the front page: it is named, not numbered
    assert [page["href"] for page in nav["pages"] if not page["gap"] and page["current"]] == ["page-5.html"]
    assert nav["previous"] == "page-6.html" and nav["next"] == "page-4.html"
    top = pagination("page-12.html", 12, 12, ("en", "auto", "Latest"), urls.index_page)
    assert top["previous"] == "index.html" and top["next"] == "page-11.html"
    front = pagination("index.html", FRONT, 12, ("ar", "auto", "أحدث المقالات"), urls.index_page)
    assert front["previous"] is None and front["next"] == "page-12.html"
    assert [page.get("label", "…") for page in front["pages"]] == ["أحدث المقالات", "12", "11", "…", "1"]
    oldest = pagination("page-1.html", 1, 12, ("en", "auto", "Latest"), urls.index_page)
    assert oldest["next"] is None and oldest["previous"] == "page-2.html"
    alone = pagination("index.html", FRONT, 0, ("en", "auto", "Latest"), urls.index_page)
    assert [page["label"] for page in alone["pages"]] == ["Latest"] and alone["next"] is None and alone["previous"] is None
