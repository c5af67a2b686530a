import type { Config } from '../../config/index.js';
import { EvmRpcSource } from './evm.js';
import { TronGridSource } from './tron.js';
import type { ChainSource } from './types.js';

export { ChainSourceError, type ChainName, type ChainScan, type ChainSource, type ObservedTransfer } from './types.js';

type ChainConfig = Pick<Config, 'usdtTronAddresses' | 'trongridUrl' | 'trongridApiKey' | 'usdtTronContract' | 'tronConfirmations'
  | 'usdtEvmAddresses' | 'evmRpcUrl' | 'usdtEvmContract' | 'evmConfirmations'>;

/** True when at least one chain has watched addresses (the worker's chain loop runs only then). */
export function chainsConfigured(config: ChainConfig): boolean {
  return config.usdtTronAddresses.length > 0 || (config.usdtEvmAddresses.length > 0 && config.evmRpcUrl !== null);
}

/** The watch-only sources the configuration asks for (operator-configured URLs: TRONGRID_URL, EVM_RPC_URL). */
export function chainSources(config: ChainConfig): ChainSource[] {
  const sources: ChainSource[] = [];
  if (config.usdtTronAddresses.length > 0) {
    sources.push(new TronGridSource({
      baseUrl: config.trongridUrl,
      apiKey: config.trongridApiKey,
      contract: config.usdtTronContract,
      addresses: config.usdtTronAddresses,
      confirmations: config.tronConfirmations,
    }));
  }
  if (config.usdtEvmAddresses.length > 0 && config.evmRpcUrl) {
    sources.push(new EvmRpcSource({
      rpcUrl: config.evmRpcUrl,
      contract: config.usdtEvmContract,
      addresses: config.usdtEvmAddresses,
      confirmations: config.evmConfirmations,
    }));
  }
  return sources;
}
