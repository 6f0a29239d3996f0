// Package data reads, fetches and generates the data sets of relunet's
// experiments.
//
// Named data sets (Sources) are the paper's reference sets, whose files are
// published at pinned revisions with their sizes and SHA-256 digests, and
// synthetic sets generated from a seed. A Loader finds a reference set's
// files in $RELUNET_DATA or the cache directory, verifies them (a file is
// hashed once per size and modification time; the digests live in the
// cache's digests.json), and on first use downloads missing files from
// their public source, or from the mirror in $RELUNET_DATA_URL, into the
// cache: through a temporary file renamed into place only when the whole
// body arrived with the right digest, with bounded connect, header and idle
// times, a minimum rate and a size cap.
//
// ReadCSV reads any numeric table (comma or white-space separated, optional
// header); a bad field is a *CSVError naming file, line and column.
package data
