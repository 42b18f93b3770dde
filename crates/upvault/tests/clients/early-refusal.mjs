// Uploads a file over the account's max_upload_size, `attempts` times with Node's fetch and
// `attempts` times with node:http, and prints one JSON line per attempt: the API's answer, or
// the transport error the client saw instead (EPIPE, ECONNRESET...). Plain Node >= 18, no
// packages.
//
//   node early-refusal.mjs BASE_URL ACCESS_TOKEN ACCOUNT_ID BYTES ATTEMPTS
import http from "node:http";

const [base, token, account, bytesArg, attemptsArg] = process.argv.slice(2);
const bytes = Number(bytesArg);
const attempts = Number(attemptsArg);
const url = `${base}/api/v2/file/upload`;
const payload = new Uint8Array(bytes).fill(120);

function form() {
  const data = new FormData();
  data.append("access_token", token);
  data.append("account_id", account);
  data.append("upload_file", new Blob([payload]), "too-big.bin");
  return data;
}

async function withFetch() {
  const response = await fetch(url, { method: "POST", body: form() });
  return { status: response.status, body: await response.json() };
}

// node:http writes the body itself, in chunks, as PHP curl or Python requests would.
async function withHttp() {
  // Let fetch's encoder build the multipart body and its boundary.
  const encoded = new Request(url, { method: "POST", body: form() });
  const body = new Uint8Array(await encoded.arrayBuffer());
  return new Promise((resolve, reject) => {
    const request = http.request(url, {
      method: "POST",
      headers: {
        "content-type": encoded.headers.get("content-type"),
        "content-length": body.length,
      },
    });
    request.on("response", (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk) => (text += chunk));
      response.on("end", () => {
        try {
          resolve({ status: response.statusCode, body: JSON.parse(text) });
        } catch (err) {
          reject(err);
        }
      });
      response.on("error", reject);
    });
    request.on("error", reject);
    for (let at = 0; at < body.length; at += 65536) {
      request.write(body.subarray(at, at + 65536));
    }
    request.end();
  });
}

for (const [client, send] of [["fetch", withFetch], ["http", withHttp]]) {
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const { status, body } = await send();
      console.log(JSON.stringify({ client, attempt, status, status_text: body._status, response: body.response }));
    } catch (err) {
      const cause = err.cause ?? err;
      console.log(JSON.stringify({ client, attempt, error: `${cause.code ?? ""} ${cause.message ?? cause}` }));
    }
  }
}
