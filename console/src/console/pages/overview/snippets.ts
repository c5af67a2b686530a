/**
 * The quick-start snippets: curl, Python and Node (both with the official `openai` SDK) for a video, an image and a
 * chat request against the customer's base URL. The key is read from an environment variable, never pasted in.
 */
export type Lang = 'curl' | 'python' | 'node';
export type Kind = 'video' | 'image' | 'chat';

export interface SnippetModels {
  video: string;
  image: string;
  chat: string;
}

/** `https://host/v1` from the base URL the server sends (with or without `/v1`). */
export function apiRoot(baseUrl: string): string {
  const trimmed = baseUrl.replace(/\/+$/, '');
  return trimmed.endsWith('/v1') ? trimmed : `${trimmed}/v1`;
}

export function snippet(lang: Lang, kind: Kind, baseUrl: string, models: SnippetModels): string {
  const root = apiRoot(baseUrl);
  const model = models[kind];
  if (lang === 'curl') return curl(kind, root, model);
  if (lang === 'python') return python(kind, root, model);
  return node(kind, root, model);
}

function curl(kind: Kind, root: string, model: string): string {
  const head = (path: string) => `curl ${root}${path} \\\n  -H "Authorization: Bearer $GENRELAY_API_KEY" \\\n  -H "Content-Type: application/json" \\\n  -d '`;
  if (kind === 'video') {
    return `${head('/videos')}{
    "model": "${model}",
    "prompt": "A paper boat drifting down a rainy street, cinematic",
    "seconds": 5
  }'

# The answer is a task; poll it until "status" is "succeeded":
curl ${root}/tasks/TASK_ID -H "Authorization: Bearer $GENRELAY_API_KEY"`;
  }
  if (kind === 'image') {
    return `${head('/images/generations')}{
    "model": "${model}",
    "prompt": "A watercolor fox in a snowy forest",
    "size": "1024x1024"
  }'`;
  }
  return `${head('/chat/completions')}{
    "model": "${model}",
    "messages": [{"role": "user", "content": "Say hello in three languages."}]
  }'`;
}

function python(kind: Kind, root: string, model: string): string {
  const setup = `# pip install openai
import os
from openai import OpenAI

client = OpenAI(base_url="${root}", api_key=os.environ["GENRELAY_API_KEY"])
`;
  if (kind === 'video') {
    return `${setup.replace('import os', 'import os\nimport time')}
video = client.videos.create(
    model="${model}",
    prompt="A paper boat drifting down a rainy street, cinematic",
    seconds="5",
)
while video.status in ("queued", "in_progress"):
    time.sleep(5)
    video = client.videos.retrieve(video.id)
print(video.status)
client.videos.download_content(video.id).write_to_file("video.mp4")`;
  }
  if (kind === 'image') {
    return `${setup}
image = client.images.generate(
    model="${model}",
    prompt="A watercolor fox in a snowy forest",
    size="1024x1024",
)
print(image.data[0].url)`;
  }
  return `${setup}
reply = client.chat.completions.create(
    model="${model}",
    messages=[{"role": "user", "content": "Say hello in three languages."}],
)
print(reply.choices[0].message.content)`;
}

function node(kind: Kind, root: string, model: string): string {
  const setup = `// npm install openai
import OpenAI from 'openai';

const client = new OpenAI({ baseURL: '${root}', apiKey: process.env.GENRELAY_API_KEY });
`;
  if (kind === 'video') {
    return `${setup}
let video = await client.videos.create({
  model: '${model}',
  prompt: 'A paper boat drifting down a rainy street, cinematic',
  seconds: '5',
});
while (video.status === 'queued' || video.status === 'in_progress') {
  await new Promise((resolve) => setTimeout(resolve, 5000));
  video = await client.videos.retrieve(video.id);
}
console.log(video.status);`;
  }
  if (kind === 'image') {
    return `${setup}
const image = await client.images.generate({
  model: '${model}',
  prompt: 'A watercolor fox in a snowy forest',
  size: '1024x1024',
});
console.log(image.data?.[0]?.url);`;
  }
  return `${setup}
const reply = await client.chat.completions.create({
  model: '${model}',
  messages: [{ role: 'user', content: 'Say hello in three languages.' }],
});
console.log(reply.choices[0]?.message.content);`;
}
