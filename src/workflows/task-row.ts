import type { Face, StoredRequest, TaskRow } from '../modules/tasks/types.js';
import type { ReserveInput } from '../modules/wallet/types.js';

/** The task row gr_create_task just inserted, built in memory from its inputs: creating costs one round trip. */
export function reservedTaskRow(input: ReserveInput): TaskRow {
  const status = input.initialStatus ?? 'queued';
  return {
    id: input.taskId, customer_id: input.customerId, mode: input.mode, api_key_id: input.apiKeyId,
    type: input.type as TaskRow['type'], model: input.model, status, idempotency_key: input.idempotencyKey,
    fingerprint: input.fingerprint, face: (input.face ?? 'native') as Face, request: input.request as StoredRequest,
    callback_url: input.callbackUrl ?? null, metadata: (input.metadata ?? null) as TaskRow['metadata'], progress: 0, result: null,
    hold_amount: input.cost, charged: 0n, error_code: null, channel_id: null, credential_id: null, tried_channels: [],
    provider: null, provider_task_id: null, operation: null, upstream_error: null, lease_owner: input.leaseOwner ?? null,
    lease_until: input.leaseUntil ?? null, attempts: input.leaseOwner ? 1 : 0,
    next_action_at: status === 'queued' ? input.now : (input.leaseUntil ?? null), submitted_at: null,
    created_at: input.now, updated_at: input.now, completed_at: null,
  };
}
