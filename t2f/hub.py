"""Finding weights: a local folder, or a Hugging Face Hub repo id downloaded into huggingface_hub's cache.

A weights folder holds ``config.json`` (a :class:`~t2f.model.ModelConfig`) and ``model.safetensors``
(the generator's state dict, any float dtype); :mod:`t2f.files` names every file it may hold. Every
failure names the file and what is wrong.
"""

from __future__ import annotations

from pathlib import Path

# _CACHED_NO_EXIST is public (in huggingface_hub.__all__): try_to_load_from_cache's documented "known absent" value.
from huggingface_hub import _CACHED_NO_EXIST, hf_hub_download, try_to_load_from_cache
from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    HFValidationError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import validate_repo_id

from t2f.files import CONFIG_NAME, DEFAULT_WEIGHTS_DIR, OPTIONAL_FILES, REQUIRED_FILES, WEIGHTS_NAME


def resolve_weights(
    name_or_path: str | Path | None = None,
    *,
    revision: str | None = None,
    cache_dir: str | Path | None = None,
    force_download: bool = False,
    local_files_only: bool = False,
    token: str | bool | None = None,
) -> Path:
    """Return a local folder holding the weight files.

    ``None`` means the bundled ``weights/`` folder. An existing folder is used as is. Anything else must
    be a Hub repo id (``user/name``); its files are downloaded into huggingface_hub's cache, which is
    also what is used offline (``HF_HUB_OFFLINE=1`` or no network).
    """
    path = Path(name_or_path if name_or_path is not None else DEFAULT_WEIGHTS_DIR).expanduser()
    if path.is_dir():
        if name_or_path is None and not (path / CONFIG_NAME).is_file():
            raise FileNotFoundError(
                f"the bundled weights folder {path} holds no {CONFIG_NAME} yet: train and export a model into it "
                "(see README), or give a weights folder or a Hub repo id"
            )
        return path
    if path.exists():
        raise ValueError(f"{path} is a file: expected a folder holding {CONFIG_NAME} and {WEIGHTS_NAME}")
    repo_id = str(name_or_path) if name_or_path is not None else ""
    try:
        validate_repo_id(repo_id)
        is_repo_id = repo_id.count("/") <= 1 and not repo_id.startswith((".", "~"))
    except HFValidationError:
        is_repo_id = False
    if not is_repo_id:
        hint = " (the bundled weights: train and export them, see README)" if name_or_path is None else ""
        raise FileNotFoundError(f"weights folder {path} does not exist{hint}, and it is not a Hub repo id either")
    try:
        files = [
            _download(repo_id, name, revision, cache_dir, force_download, local_files_only, token) for name in REQUIRED_FILES
        ]
    except (FileNotFoundError, ConnectionError, PermissionError) as e:
        # A bare name may be a mistyped folder as well as a repo id: say that no such folder exists either.
        raise type(e)(f"there is no folder {path}, and as a Hub repo id: {e}") from None
    for name in OPTIONAL_FILES:  # a model without them still draws faces; editing says what is missing
        # Known absent (a 404 cached by huggingface_hub): skip, or an unreachable Hub is retried for a minute.
        if try_to_load_from_cache(repo_id, name, cache_dir=cache_dir, revision=revision) is _CACHED_NO_EXIST:
            continue
        try:
            _download(repo_id, name, revision, cache_dir, force_download, local_files_only, token)
        except (FileNotFoundError, PermissionError):
            pass
        except ConnectionError:  # unreachable: each further file would be retried as long again
            break
    return files[0].parent


def _download(repo_id, filename, revision, cache_dir, force_download, local_files_only, token) -> Path:
    where = f"{repo_id}@{revision}" if revision else repo_id
    try:
        return Path(
            hf_hub_download(
                repo_id,
                filename,
                revision=revision,
                cache_dir=cache_dir,
                force_download=force_download,
                local_files_only=local_files_only,
                token=token,
            )
        )
    except LocalEntryNotFoundError:  # before EntryNotFoundError, its base class
        raise ConnectionError(
            f"cannot download {filename} of {where}: the Hub is unreachable or offline mode is on (HF_HUB_OFFLINE), "
            f"and nothing is cached for it. Connect once to cache it, or use the bundled weights in {DEFAULT_WEIGHTS_DIR} "
            "(from_pretrained() with no name; for the app, leave T2F_WEIGHTS unset)"
        ) from None
    except GatedRepoError:
        raise PermissionError(f"Hub repo {where} is gated: accept its terms on the Hub and log in (hf auth login)") from None
    except RepositoryNotFoundError:
        raise FileNotFoundError(
            f"Hub repo {where} was not found, or it is private and no valid token was given (set HF_TOKEN or run hf auth login)"
        ) from None
    except RevisionNotFoundError:
        raise FileNotFoundError(f"Hub repo {repo_id} has no revision {revision!r}") from None
    except EntryNotFoundError:
        raise FileNotFoundError(f"Hub repo {where} has no {filename}: is it a T2F-MSGGAN model?") from None
    except HfHubHTTPError as e:
        status = e.response.status_code if e.response is not None else "no response"
        raise ConnectionError(f"downloading {filename} of {where} failed (HTTP {status}); try again later") from None
