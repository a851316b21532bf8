"""The masks of personal data keep only the ends of a number."""

from __future__ import annotations

from xietong.security.masking import mask_id_number, mask_phone


def test_the_masks_keep_only_the_ends() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("0578-2123456") == "057*-***3456"
    assert mask_phone("123") == "***" and mask_phone(None) is None
    assert mask_id_number("33110219900101123X") == "331102********123X"
