"""Drives `vibeward mcp` with the official MCP Python SDK's stdio client, as a coding agent would.

Usage: python mcp_session.py VIBEWARD PROJECT_DIR
Prints one JSON document: every call with its arguments and its result (structured content,
text, or the MCP error), for tests/mcp.rs to check.
"""

import asyncio
import json
import sys

from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp import types
from mcp.shared.exceptions import MCPError

# synthetic, of the real shape (see fixtures/secrets/stripe-live-secret-key.js)
STRIPE = "sk_live_" + "Ysx2oDu6SBwLpLThBjYi5KcfeCff6Cfp"


async def main(binary: str, project: str) -> None:
    transcript = []

    async def list_roots(_context):
        return types.ListRootsResult(roots=[types.Root(uri="file://" + project, name="project")])

    async def call(session, name, arguments):
        # the code sent is the client's own; the transcript keeps only its size
        shown = {k: (f"<{len(v)} characters>" if k == "code" else v) for k, v in arguments.items()}
        entry = {"tool": name, "arguments": shown}
        try:
            result = await session.call_tool(name, arguments)
            entry["is_error"] = bool(result.is_error)
            entry["structured"] = result.structured_content
            entry["text"] = [c.text for c in result.content if getattr(c, "type", "") == "text"]
        except MCPError as e:
            entry["error"] = {"code": e.code, "message": e.error.message}
        transcript.append(entry)

    params = StdioServerParameters(command=binary, args=["mcp"], cwd=project)
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write, list_roots_callback=list_roots) as session:
            init = await session.initialize()
            transcript.append(
                {
                    "initialize": {
                        "server": init.server_info.name,
                        "version": init.server_info.version,
                        "protocol": init.protocol_version,
                        "tools": init.capabilities.tools is not None,
                    }
                }
            )
            tools = await session.list_tools()
            transcript.append(
                {
                    "tools": [
                        {
                            "name": t.name,
                            "has_output_schema": t.output_schema is not None,
                            "required": (t.input_schema or {}).get("required", []),
                        }
                        for t in tools.tools
                    ]
                }
            )
            await call(session, "list_rules", {})
            await call(session, "list_rules", {"family": "supabase"})
            await call(session, "explain_rule", {"id": "supabase.table-without-rls"})
            await call(
                session,
                "check_code",
                {
                    "filename": "supabase/migrations/20240101000000_notes.sql",
                    "code": "create table public.notes (\n  id bigint primary key,\n  user_id uuid,\n  body text\n);\n",
                },
            )
            await call(
                session,
                "check_code",
                {
                    "filename": "src/billing.ts",
                    "code": 'import Stripe from "stripe";\nconst stripeKey = "' + STRIPE + '";\nexport const stripe = new Stripe(stripeKey);\n',
                },
            )
            await call(session, "check_code", {"filename": "firestore.rules", "code": "rules_version = '2';\nservice cloud.firestore {\n  match /databases/{db}/documents {\n    match /{document=**} {\n      allow read, write: if true;\n    }\n  }\n}\n"})
            await call(session, "scan", {})
            await call(session, "scan", {"paths": ["src"], "families": ["secrets"]})
            await call(session, "scan", {"min_severity": "critical"})
            # invalid calls: each must be an MCP error, and the server must keep serving
            await call(session, "scan", {"paths": ["/etc"]})
            await call(session, "scan", {"paths": ["../"]})
            await call(session, "scan", {"families": ["no-such-family"]})
            await call(session, "explain_rule", {"id": "supabase.table-without-rl"})
            await call(session, "check_code", {"code": "x"})
            await call(session, "check_code", {"code": "x", "filename": "../outside.js"})
            await call(session, "no_such_tool", {})
            await call(session, "list_rules", {"family": "supabase"})
    print(json.dumps(transcript, indent=1))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
