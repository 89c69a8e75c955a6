"""Push the dashboards to an existing Grafana through its HTTP API (grafana-client)."""

from __future__ import annotations

from typing import Any

from grafana_client import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException

FOLDER_TITLE = "Pletfri"
FOLDER_UID = "pletfri"


class PushError(Exception):
    pass


def push(
    url: str, token: str | None, dashboards: list[dict[str, Any]], timeout: float = 10.0
) -> list[str]:
    """Create the Pletfri folder if needed and create or overwrite each dashboard."""
    api = GrafanaApi.from_url(url, credential=token, timeout=timeout)
    try:
        try:
            api.folder.get_folder(FOLDER_UID)
        except GrafanaClientError as e:
            if e.status_code != 404:
                raise
            api.folder.create_folder(FOLDER_TITLE, uid=FOLDER_UID)
        pushed = []
        for d in dashboards:
            api.dashboard.update_dashboard(
                {"dashboard": {**d, "id": None}, "folderUid": FOLDER_UID, "overwrite": True}
            )
            pushed.append(d["uid"])
        return pushed
    except GrafanaException as e:
        raise PushError(
            f"Grafana at {url} refused the push: {e}; check the URL and that the token "
            "belongs to a service account with the Editor role"
        ) from e
    except OSError as e:
        raise PushError(f"Grafana at {url} unreachable: {e}") from e
