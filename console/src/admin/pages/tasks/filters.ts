import { isApiError } from '../../../shared/api';

/**
 * How a list shows a failed load: filters the server refused (400, named on their field too) need a change, not a
 * retry; anything else offers "Try again".
 */
export function listError(error: Error, retry: () => void): { title: string; retry?: () => void } {
  return isApiError(error) && error.status === 400 ? { title: 'These filters were refused.' } : { title: 'Could not load this.', retry };
}
