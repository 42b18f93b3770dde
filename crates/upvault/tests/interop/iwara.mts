// Drives the unmodified third-party ClientIwara (vendor/openlist-iwara, AGPL-3.0) against an
// upvault server: UPVAULT_URL, UPVAULT_KEY1, UPVAULT_KEY2. Prints one JSON line per step,
// {"step", "ok", "value" | "error"}, for the Rust test to judge; exits 0 unless the client
// could not be loaded at all.
import { ClientIwara } from "./vendor/openlist-iwara/util"

const client = new ClientIwara({
  endpoint: process.env.UPVAULT_URL!,
  api_key_1: process.env.UPVAULT_KEY1!,
  api_key_2: process.env.UPVAULT_KEY2!,
})

async function step(name: string, run: () => Promise<unknown>): Promise<unknown> {
  try {
    const value = await run()
    console.log(JSON.stringify({ step: name, ok: true, value: value ?? null }))
    return value
  } catch (error) {
    console.log(JSON.stringify({ step: name, ok: false, error: String((error as Error).message ?? error) }))
    return undefined
  }
}

await step("init", () => client.init())
await step("createFolder", () => client.createFolder(undefined, "Ünïcode ✓ folder"))
await step("createFolder nested", async () => {
  const root = await client.listFolder()
  const parent = root.folders.find(f => f.folderName === "Ünïcode ✓ folder")
  await client.createFolder(String(parent!.id), "inner")
})
const root = (await step("listFolder root", () => client.listFolder())) as Awaited<ReturnType<ClientIwara["listFolder"]>>
const folder = root?.folders.find(f => f.folderName === "Ünïcode ✓ folder")
const folderId = String(folder?.id)
await step("upload", () => client.upload(folderId, "report 2024 ☃.csv", Buffer.from("a,b\n1,2\n")))
const listed = (await step("listFolder folder", () => client.listFolder(folderId))) as Awaited<ReturnType<ClientIwara["listFolder"]>>
const fileId = String(listed?.files[0]?.id)
const link = (await step("download", () => client.download(fileId))) as string
await step("fetch download", async () => (await fetch(link)).text())
await step("editFile", () => client.editFile(fileId, "renamed.csv"))
await step("copyFile to root", () => client.copyFile(fileId, undefined))
await step("copyFile to folder", () => client.copyFile(fileId, folderId))
await step("moveFile to root", () => client.moveFile(fileId, undefined))
const inner = (await client.listFolder(folderId)).folders.find(f => f.folderName === "inner")
await step("moveFile to folder", () => client.moveFile(fileId, String(inner?.id)))
await step("editFolder", () => client.editFolder(folderId, "Renamed folder"))
await step("moveFolder to root", () => client.moveFolder(String(inner?.id), undefined))
await step("moveFolder", () => client.moveFolder(String(inner?.id), folderId))
await step("deleteFile", () => client.deleteFile(fileId))
await step("deleteFolder", () => client.deleteFolder(folderId))
await step("listFolder after", () => client.listFolder())
