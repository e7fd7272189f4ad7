"""Placeholder: job routes are being built."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/jobs", tags=["jobs"])
