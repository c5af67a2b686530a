import { keepPreviousData } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';
import { Link } from 'react-router';
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { ChartEmpty, ErrorState, Loading, PageHeader, Section } from '../../../shared/components';
import { formatBucket, formatBucketSpan, formatCompact, formatCredits } from '../../../shared/format';
import { useApiQuery } from '../../../shared/query';
import { Card, CodeBlock, ModeSwitch, Segmented, useMode } from '../../components';
import type { Balance, Mode, ModelView, Overview } from '../../types';
import { apiRoot, snippet, type Kind, type Lang, type SnippetModels } from './snippets';

/**
 * The overview: `GET /console/api/overview` — live and test balances (reserved, available), spend today / 7 d / 30 d
 * and the 30-day series of the chosen mode (`?mode=test`; live by default), and a quick start with the customer's base URL and copyable snippets.
 */
export function OverviewPage() {
  const [mode, setMode] = useMode();
  const query = useApiQuery<Overview>('/overview', { mode }, { refetchInterval: 60_000, placeholderData: keepPreviousData });
  return (
    <>
      <PageHeader title="Overview" description="Your balances, your spend and how to make the first request." />
      {query.isPending ? (
        <Loading label="Loading the overview…" />
      ) : query.isError ? (
        <ErrorState error={query.error} retry={() => void query.refetch()} />
      ) : (
        <OverviewBody data={query.data} mode={mode} modeSwitch={<ModeSwitch mode={mode} onChange={setMode} />} />
      )}
    </>
  );
}

function BalanceCards(props: { label: string; balance: Balance; note: string }) {
  const { balance } = props;
  return (
    <Section title={props.label}>
      <div className="cards cards-tight">
        <Card label="Balance" value={formatCredits(balance.balance)} />
        <Card label="Reserved" value={formatCredits(balance.reserved)} sub="held for tasks in progress" />
        <Card label="Available" value={formatCredits(balance.available)} sub="balance − reserved" />
      </div>
      <p className="muted small">{props.note}</p>
    </Section>
  );
}

function OverviewBody(props: { data: Overview; mode: Mode; modeSwitch: ReactNode }) {
  const { data } = props;
  return (
    <div className="stack">
      <div className="grid-2">
        <BalanceCards label="Live wallet" balance={data.balances.live} note="Live keys spend these credits. Add credits on the Billing page (card or USDT)." />
        <BalanceCards label="Test wallet" balance={data.balances.test} note="Test keys spend these credits: free sign-up credits to try every model." />
      </div>
      <Section
        title={props.mode === 'live' ? 'Live spend' : 'Test spend'}
        actions={
          <>
            {props.modeSwitch}
            <Link to={props.mode === 'test' ? '/usage?mode=test' : '/usage'}>Usage details →</Link>
          </>
        }
      >
        <div className="cards cards-tight">
          <Card label="Today (UTC)" value={formatCredits(data.spend.today)} />
          <Card label="Last 7 days" value={formatCredits(data.spend.d7)} />
          <Card label="Last 30 days" value={formatCredits(data.spend.d30)} />
        </div>
        <h3 className="chart-title">Credits charged per day (UTC), last 30 days</h3>
        <SpendChart series={data.series} mode={props.mode} />
      </Section>
      <QuickStart baseUrl={data.base_url} />
    </div>
  );
}

/** The 30-day spend of a mode, or "No spend yet" when nothing was charged (a chart of zeros would show bare axes). */
function SpendChart(props: { series: Overview['series']; mode: Mode }) {
  if (props.series.every((point) => point.charged === 0)) {
    return (
      <ChartEmpty title="No spend yet">
        Nothing was charged to your {props.mode} wallet in the last 30 days. Requests with a {props.mode} key show here, day by day.
      </ChartEmpty>
    );
  }
  const series = props.series.map((point) => ({ ...point, label: formatBucket(point.day, 'day'), span: formatBucketSpan(point.day, 'day') }));
  return (
    <div className="chart">
      <ResponsiveContainer width="100%" height="100%">
        <BarChart data={series} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="label" tick={{ fontSize: 12 }} interval="preserveStartEnd" minTickGap={16} />
          <YAxis tick={{ fontSize: 12 }} tickFormatter={(value: number) => formatCompact(value)} width={48} allowDecimals={false} />
          <Tooltip
            formatter={(value) => [formatCredits(Number(value)), 'Charged']}
            labelFormatter={(label, payload) => payload?.[0]?.payload?.span ?? String(label)}
          />
          <Bar dataKey="charged" name="Charged" fill="#2f5bd3" isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}

const FALLBACK_MODELS: SnippetModels = { video: 'seedance-2.0-fast', image: 'gpt-image-2', chat: 'gpt-4o-mini' };

function QuickStart(props: { baseUrl: string }) {
  const [lang, setLang] = useState<Lang>('curl');
  const [kind, setKind] = useState<Kind>('image');
  const models = useApiQuery<{ data: ModelView[] }>('/models');
  const list = models.data?.data ?? [];
  const pick = (type: string, fallback: string) => list.find((model) => model.type === type)?.id ?? fallback;
  const chosen: SnippetModels = {
    video: pick('video', FALLBACK_MODELS.video),
    image: pick('image', FALLBACK_MODELS.image),
    chat: list.find((model) => model.type === 'chat' || (model.type === 'text' && model.category !== 'embedding'))?.id ?? FALLBACK_MODELS.chat,
  };
  const code = snippet(lang, kind, props.baseUrl, chosen);
  return (
    <Section title="Quick start">
      <ol className="steps">
        <li>
          <Link to="/keys">Create an API key</Link> (a <strong>test</strong> key spends your free test credits) and put it in
          the <code>GENRELAY_API_KEY</code> environment variable.
        </li>
        <li>
          Point any OpenAI client at <code className="mono">{apiRoot(props.baseUrl)}</code>.
        </li>
        <li>Send a request:</li>
      </ol>
      <div className="toolbar">
        <Segmented
          label="Request"
          value={kind}
          onChange={setKind}
          options={[
            { value: 'image', label: 'Image' },
            { value: 'video', label: 'Video' },
            { value: 'chat', label: 'Chat' },
          ]}
        />
        <Segmented
          label="Language"
          value={lang}
          onChange={setLang}
          options={[
            { value: 'curl', label: 'curl' },
            { value: 'python', label: 'Python' },
            { value: 'node', label: 'Node' },
          ]}
        />
      </div>
      <CodeBlock code={code} label={`${kind === 'chat' ? 'A chat' : kind === 'image' ? 'An image' : 'A video'} request with ${lang === 'curl' ? 'curl' : lang === 'python' ? 'Python (openai SDK)' : 'Node (openai SDK)'}`} />
      <p className="muted small">
        Every result is a task: see it under <Link to="/tasks">Tasks</Link>, its cost under <Link to="/usage">Usage</Link>. The models and
        your prices are under <Link to="/models">Models &amp; prices</Link>.
      </p>
    </Section>
  );
}
