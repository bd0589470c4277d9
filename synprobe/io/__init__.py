"""Dataset files: the HDF5 format v1 (see docs/format.md). h5py is imported only here."""
