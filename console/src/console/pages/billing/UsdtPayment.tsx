import { useEffect, useId, useRef, useState } from 'react';
import { CopyButton, SafeSvg, Section } from '../../../shared/components';
import { formatCredits } from '../../../shared/format';
import { networkLabel } from '../../../shared/payments';
import type { ConsoleTopup } from './types';

/**
 * Paying a USDT order: the watch-only address and the exact amount (each with a copy button), the QR code of the
 * address, a countdown to the end of the payment window and the order's status, which the page reads again every few
 * seconds (TopupPage): `waiting` → `confirming n/N` (the transfer is on the chain, not final yet) → paid.
 */
export function UsdtPayment(props: { order: ConsoleTopup }) {
  const { order } = props;
  const payTo = order.pay_to!;
  const network = networkLabel(order.method, payTo.network);
  const left = useSecondsUntil(order.expires_at);
  const confirming = order.status === 'confirming';
  const svg = decodeSvg(order.qr_svg);

  return (
    <Section title={`Send USDT on ${network}`}>
      <div className="usdt-pay">
        <div className="stack usdt-pay-fields">
          <CopyField label={`Address (${network})`} value={payTo.address} copyLabel="Copy the address" />
          <CopyField label="Exact amount (USDT)" value={payTo.amount} copyLabel="Copy the amount" />
          <p className="warning usdt-warning" role="note">
            Send exactly {payTo.amount} USDT on {network}, to this address, before the window closes. Another amount, another token or
            another network cannot be matched to this order: it is not credited automatically and waits for the operator. If your wallet or
            exchange takes its fee from the amount, add the fee so that exactly {payTo.amount} USDT arrives.
          </p>
          <div className="usdt-status" aria-live="polite">
            {confirming ? (
              <p>
                <span className="spinner" aria-hidden="true" /> <strong>Transfer received</strong> — confirming{' '}
                {order.confirmations ? `${order.confirmations.seen}/${order.confirmations.required ?? '?'}` : ''} blocks. Your{' '}
                {formatCredits(order.credits)} are credited once the transfer is final.
              </p>
            ) : left > 0 ? (
              <p>
                <span className="spinner" aria-hidden="true" /> Waiting for your transfer… this page updates by itself.
              </p>
            ) : (
              <p>The payment window has closed. A transfer sent before it closed is still credited once it is final.</p>
            )}
          </div>
          <p className="usdt-countdown">
            {left > 0 ? (
              <>
                Time left to pay: <strong className="mono" aria-label={`${Math.floor(left / 60)} minutes ${left % 60} seconds`}>{formatLeft(left)}</strong>
              </>
            ) : (
              <strong>Time is up.</strong>
            )}
          </p>
        </div>
        <figure className="usdt-qr">
          {svg ? <SafeSvg svg={svg} title={`QR code of the address ${payTo.address}`} className="qr" /> : <p className="muted small">No QR code.</p>}
          <figcaption className="muted small">Scan the address; type the amount yourself.</figcaption>
        </figure>
      </div>
    </Section>
  );
}

function CopyField(props: { label: string; value: string; copyLabel: string }) {
  const ref = useRef<HTMLInputElement>(null);
  const id = useId();
  return (
    <div className="field copy-field">
      <label htmlFor={id}>{props.label}</label>
      <div className="secret-row">
        <input id={id} ref={ref} className="mono" readOnly autoComplete="off" spellCheck={false} value={props.value} onFocus={(event) => event.target.select()} />
        <CopyButton text={props.value} label={props.copyLabel} fallbackTarget={() => ref.current} />
      </div>
    </div>
  );
}

/** `data:image/svg+xml;base64,…` → the SVG text (SafeSvg renders it as elements; the CSP refuses data: images). */
function decodeSvg(dataUrl: string | null): string | null {
  const prefix = 'data:image/svg+xml;base64,';
  if (!dataUrl?.startsWith(prefix)) return null;
  try {
    return atob(dataUrl.slice(prefix.length));
  } catch {
    return null;
  }
}

/** Seconds from now until `unixSeconds`, ticking once a second (0 once passed). */
function useSecondsUntil(unixSeconds: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, []);
  return Math.max(0, Math.floor(unixSeconds - now / 1000));
}

/** `29:58`, or `1:02:03` past an hour. */
function formatLeft(seconds: number): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  return hours > 0 ? `${hours}:${pad(minutes)}:${pad(seconds % 60)}` : `${minutes}:${pad(seconds % 60)}`;
}
