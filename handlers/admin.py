"""Admins: uploading texts through the chat and managing the corpus."""

from __future__ import annotations

from aiogram import Router

router = Router(name=__name__)
