//! Baseline checks of pod specs: Pod Security Standards, hardening checks, fixes and exemptions.
