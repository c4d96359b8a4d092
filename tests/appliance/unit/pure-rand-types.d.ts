// fast-check 4 declares its types by importing "pure-rand/types/*", which only resolves under
// moduleResolution node16/bundler (package "exports"). The repository compiles with
// moduleResolution "node", so map those two specifiers to pure-rand's own declaration files.
declare module "pure-rand/types/RandomGenerator" {
  export type { RandomGenerator } from "pure-rand/lib/esm/types/RandomGenerator";
}
declare module "pure-rand/types/JumpableRandomGenerator" {
  export type { JumpableRandomGenerator } from "pure-rand/lib/esm/types/JumpableRandomGenerator";
}
