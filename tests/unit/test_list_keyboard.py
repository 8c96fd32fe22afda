"""The list keyboard packs its callback data by hand (it goes with every search reply): what it packs is
what aiogram's pack() makes, and what the handlers' filters unpack."""

from __future__ import annotations

import pytest

from handlers.callbacks import ListPage, OpenDoc, Source
from handlers.ui.keyboards import list_page_data, open_doc_data


@pytest.mark.parametrize("source", list(Source))
@pytest.mark.parametrize(("number", "ref", "page"), [(1, 0, 0), (123456, 987654321, 3), (7, 2**40, 199)])
def test_packed_by_hand_as_aiogram_packs(source: Source, number: int, ref: int, page: int) -> None:
    assert (
        open_doc_data(number, source, ref, page)
        == OpenDoc(doc_id=number, source=source, ref=ref, page=page).pack()
    )
    assert list_page_data(source, ref, page) == ListPage(source=source, ref=ref, page=page).pack()
    assert OpenDoc.unpack(open_doc_data(number, source, ref, page)) == OpenDoc(
        doc_id=number, source=source, ref=ref, page=page
    )
    assert ListPage.unpack(list_page_data(source, ref, page)) == ListPage(source=source, ref=ref, page=page)
