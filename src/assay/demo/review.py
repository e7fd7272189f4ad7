"""The demo's pre-release review: register a model, find it covered, agree with two
agencies, open a window and send one call through the gateway.

By default the model is the stand-in (``assay.frontier.standin``), a small server this
project writes: it is not a model, and the demo says so. ``--model-url`` points the demo at
a real OpenAI-compatible endpoint instead.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx2

from assay.api.app import create_app
from assay.frontier import agreements, catalog, determinations, windows
from assay.frontier.gateway import access
from assay.frontier.models import Domain
from assay.frontier.schemas import AgreementCreate, ModelCreate
from assay.identity import service as identity
from assay.runtime import Runtime

DEVELOPER_EMAIL = "engineer@northwind-ai.demo"
AGENCY_EMAILS = ("evaluator@treasury.demo", "evaluator@cisa.demo")
POLICY = "covered-frontier-model"


@dataclass(frozen=True)
class ReviewDemo:
    model_id: str
    model_label: str
    outcome: str
    policy: str
    policy_version: int
    agreement_id: str
    window_id: str
    window_state: str
    closes_at: str
    gateway_status: int
    reply: str
    usage: dict[str, Any]
    metered: dict[str, int]


def run_review(
    runtime: Runtime, *, model_url: str, model_name: str, api_key: str, stand_in: bool
) -> ReviewDemo:
    """Walk the review through the same services the API, CLI and UI call."""
    clock = runtime.clock
    with runtime.db.transaction(write=True) as session:
        dev = identity.actor_for(identity.user_by_email(session, DEVELOPER_EMAIL))
        agencies = [
            identity.actor_for(identity.user_by_email(session, email)) for email in AGENCY_EMAILS
        ]
        label = "Stand-in (not a model)" if stand_in else model_name
        model = catalog.register_model(
            session,
            actor=dev,
            clock=clock,
            box=runtime.box,
            data=ModelCreate.model_validate(
                {
                    "name": "northwind-frontier",
                    "version": "1.0-rc1",
                    "description": f"Demo model served by: {label}.",
                    "planned_release_at": clock.now() + timedelta(days=45),
                    "training_flop": 3.2e26,
                    "finetune_flop": 4.0e24,
                    "parameters": 1_200_000_000_000,
                    "bio_sequence_data": False,
                    "modalities": ["text", "code"],
                    "benchmarks": {"cybench": 0.38},
                    "endpoint_url": model_url,
                    "endpoint_model": model_name,
                    "api_key": api_key,
                }
            ),
        )
        made = determinations.determine(
            session, actor=dev, clock=clock, model_id=model.id, policy_name=POLICY
        )
        agreement = agreements.propose(
            session,
            actor=dev,
            clock=clock,
            data=AgreementCreate(
                model_id=model.id,
                agencies=[a.org_id for a in agencies],
                domains=[Domain.CYBER, Domain.SAFEGUARDS],
                review_days=30,
                data_handling="Outputs stay within the agencies' evaluation enclaves.",
                share_findings_between_agencies=True,
                contact=DEVELOPER_EMAIL,
            ),
        )
        for agency in agencies:
            agreements.decide(
                session, actor=agency, clock=clock, agreement_id=agreement.id, accept=True
            )
        window = windows.open_window(session, actor=dev, clock=clock, agreement_id=agreement.id)
        issued = access.issue_token(session, actor=agencies[0], clock=clock, window_id=window.id)
        public = windows.to_public(window, clock.now())
        ids = (str(model.id), str(agreement.id), str(window.id))
        outcome, policy_version = made.outcome.value, made.policy_version
        token = issued.token
    status, body = asyncio.run(_one_call(runtime, token, "northwind-frontier"))
    with runtime.db.transaction() as session:
        metered = access.usage_of_window(session, window.id)
    choices = body.get("choices") or [{}]
    return ReviewDemo(
        model_id=ids[0],
        model_label=label,
        outcome=outcome,
        policy=POLICY,
        policy_version=policy_version,
        agreement_id=ids[1],
        window_id=ids[2],
        window_state=public.state.value,
        closes_at=public.closes_at.isoformat(),
        gateway_status=status,
        reply=str(choices[0].get("message", {}).get("content", body.get("detail", ""))),
        usage=body.get("usage") or {},
        metered=metered,
    )


async def _one_call(runtime: Runtime, token: str, model: str) -> tuple[int, dict[str, Any]]:
    """One chat call through the real gateway routes, in process (no port needed)."""
    app = create_app(runtime.settings, runtime=runtime)
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://assay.demo") as client:
        response = await client.post(
            "/gateway/v1/chat/completions",
            headers={"Authorization": f"Bearer {token}"},
            json={
                "model": model,
                "messages": [
                    {"role": "user", "content": "In one sentence: what is a review window?"}
                ],
            },
        )
    return response.status_code, response.json()
