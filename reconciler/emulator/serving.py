"""Placeholder router."""

from fastapi import APIRouter

router = APIRouter()
