// Nothing OnyxChat-specific: the packages must work with Next's defaults.
export default {};
