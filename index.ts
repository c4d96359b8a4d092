// Tollgate Pulumi program: composition root. Filled by the foundation issue.
export {};
