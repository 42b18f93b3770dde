"""Drives the unmodified third-party PrimeUploads client (PyPI `primeuploads-py`, MIT) against an
upvault server: UPVAULT_URL, UPVAULT_KEY1, UPVAULT_KEY2, UPVAULT_SAMPLE (a file to upload).

The client's uploads run the `curl` program with the primeuploads.com URL written into the
command; the test puts `curl-shim/curl` first in PATH, which sends that URL to UPVAULT_URL.
Prints one JSON line per step, {"step", "ok", "value" | "error"}, for the Rust test to judge.
"""

import asyncio
import json
import os
import urllib.request

from prime import PrimeUploads


async def step(name, call):
    try:
        value = await call
        print(json.dumps({"step": name, "ok": True, "value": value}), flush=True)
        return value
    except Exception as error:  # the client raises PrimeException with the server's message
        print(json.dumps({"step": name, "ok": False, "error": str(error)}), flush=True)
        return None


async def fetch(url):
    with urllib.request.urlopen(url) as response:
        return response.read().decode()


async def main():
    client = PrimeUploads()
    client.api_path = os.environ["UPVAULT_URL"] + "/api/v2/"
    await step("authorize", client.authorize(os.environ["UPVAULT_KEY1"], os.environ["UPVAULT_KEY2"]))
    await step("account_info", client.account_info())
    await step("account_package", client.account_package())
    created = await step("create_folder", client.create_folder("Prime ✓"))
    folder_id = created["data"]["id"] if created else "0"
    await step("create_folder nested", client.create_folder("inner", parent_id=folder_id, is_public=1))
    uploaded = await step("upload", client.upload(os.environ["UPVAULT_SAMPLE"]))
    file_id = uploaded["data"][0]["file_id"] if uploaded else "0"
    await step("list_folders root", client.list_folders(""))
    await step("list_folders folder", client.list_folders(folder_id))
    await step("file_info", client.file_info(file_id))
    link = await step("download", client.download(file_id))
    await step("fetch download", fetch(link["data"]["download_url"] if link else ""))
    await step("edit_file type", client.edit_file(file_id, file_type="text/csv"))
    await step("edit_file name", client.edit_file(file_id, filename="renamed.csv"))
    await step("copy", client.copy(file_id, folder_id))
    await step("move", client.move(file_id, folder_id))
    await step("folder_info", client.folder_info(folder_id))
    await step("edit_folder", client.edit_folder(folder_id, folder_name="Prime renamed"))
    listing = await step("list_folders after edit", client.list_folders(folder_id))
    inner = next(f["id"] for f in listing["data"]["folders"]) if listing else "0"
    await step("move_folder", client.move_folder(inner, "0"))
    await step("delete_file", client.delete_file(file_id))
    await step("delete_folder", client.delete_folder(folder_id))
    await step("disable_access_token", client.disable_access_token())
    await step("account_info after", client.account_info())


asyncio.run(main())
