export declare const WIRE_KEYS: string[]
export declare const PUBLIC_NAMES: string[]
