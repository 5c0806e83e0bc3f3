"""The status page of ``reconciler serve``, at ``/``: server-rendered HTML (Jinja2, autoescaped).

Pages: tenants, tenant, drift, history, and one per job, serving endpoint,
dataset and vector index, each built from the library functions the JSON
API and the CLI use (:mod:`reconciler.status` as stored by the controller,
the state's records and history, :mod:`reconciler.actions`). A few lines of
script (``static/app.js``) refresh each page's live part without a reload.
Login, sessions and CSRF: :mod:`.session` and :mod:`.guard`.
"""

from fastapi import APIRouter

from reconciler.service.web import forms, pages

router = APIRouter(include_in_schema=False)
router.include_router(forms.router)
router.include_router(pages.router)

__all__ = ["router"]
