// The fixture widget's own script (test code, plain browser JavaScript): bundled with the
// ext-apps `App` by widget-app.ts into one inline script, as an app's build would. It shows the
// forecast of the tool result, the host's theme and language, asks for its height, calls tools of
// its own app, asks to open a link and to go full screen.
import { App } from '@modelcontextprotocol/ext-apps';

const view = document.getElementById('forecast');
const status = document.getElementById('status');
const host = document.getElementById('host');
const mode = document.getElementById('mode');
const app = new App({ name: 'forecast-widget', version: '1.0.0' }, {}, { autoResize: true });

function showHost(context) {
  if (!context) return;
  if (context.theme) document.documentElement.dataset.theme = context.theme;
  host.textContent = `theme: ${document.documentElement.dataset.theme ?? '?'} · locale: ${context.locale ?? host.dataset.locale ?? '?'}`;
  if (context.locale) host.dataset.locale = context.locale;
  if (context.displayMode) mode.textContent = `mode: ${context.displayMode}`;
}

function textOf(result) {
  return (result.content ?? []).filter((part) => part.type === 'text').map((part) => part.text).join(' ');
}

app.ontoolinput = ({ arguments: args }) => {
  status.textContent = `input: ${args?.city ?? '?'}`;
};
app.ontoolresult = (result) => {
  const data = result.structuredContent ?? {};
  view.replaceChildren();
  const title = document.createElement('h1');
  title.textContent = `${data.city ?? '?'} · ${data.temperature ?? '?'} °C`;
  view.append(title);
  for (const day of data.days ?? []) {
    const item = document.createElement('li');
    item.textContent = `${day.day}: ${day.sky}`;
    view.append(item);
  }
  status.textContent = 'result';
};
app.onhostcontextchanged = (context) => showHost(context);
// Teardown takes the widget a moment (as saving its state would), and it says so on the console,
// where the browser tests read that the host asked and waited for the answer.
app.onteardown = async () => {
  console.info('forecast-widget: teardown asked');
  status.textContent = 'tearing down';
  await new Promise((resolve) => setTimeout(resolve, 150));
  status.textContent = 'torn down';
  console.info('forecast-widget: teardown done');
  return {};
};

document.getElementById('refresh').addEventListener('click', async () => {
  status.textContent = 'refreshing';
  const result = await app.callServerTool({ name: 'refresh_forecast', arguments: { city: 'Lyon' } });
  status.textContent = result.isError ? `refused: ${textOf(result)}` : `refreshed: ${textOf(result)}`;
});
document.getElementById('pin').addEventListener('click', async () => {
  status.textContent = 'pinning';
  const result = await app.callServerTool({ name: 'pin_city', arguments: { city: 'Lyon' } });
  status.textContent = result.isError ? `refused: ${textOf(result)}` : `pinned: ${textOf(result)}`;
});
document.getElementById('link').addEventListener('click', async () => {
  const result = await app.openLink({ url: 'https://forecast.example/lyon' });
  status.textContent = result.isError ? 'link refused' : 'link opened';
});
document.getElementById('grow').addEventListener('click', () => {
  const extra = document.createElement('p');
  extra.className = 'extra';
  extra.textContent = 'More detail for the week ahead.';
  document.getElementById('more').append(extra, extra.cloneNode(true), extra.cloneNode(true));
});
document.getElementById('fullscreen').addEventListener('click', async () => {
  const next = app.getHostContext()?.displayMode === 'fullscreen' ? 'inline' : 'fullscreen';
  const result = await app.requestDisplayMode({ mode: next });
  mode.textContent = `mode: ${result.mode}`;
});

await app.connect();
showHost(app.getHostContext());
status.textContent = status.textContent || 'connected';
