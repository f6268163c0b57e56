//! VNICs on illumos through libdladm (to come).
