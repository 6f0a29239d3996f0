// Package data reads, fetches and generates the data sets of relunet's
// experiments.
//
// Named data sets (Sources) are the paper's five reference sets, and
// synthetic sets generated from a seed. Four are files published at pinned
// revisions with their sizes and SHA-256 digests; the fifth, UCI's
// YearPredictionMSD, is published without a digest, so its digest is
// recorded on the first download and checked on every later load. A Loader
// finds a reference set's files in $RELUNET_DATA (a list of directories,
// like PATH) or the cache directory, verifies them (a file is
// hashed once per size and modification time; the digests live in the
// cache's digests.json), and on first use downloads missing files from
// their public source, or from the mirror in $RELUNET_DATA_URL, into the
// cache: through a temporary file renamed into place only when the whole
// body arrived with the right digest, with bounded connect, header and idle
// times, a minimum rate and a size cap.
//
// Patches cuts any image into the square patches of a denoising
// autoencoder (noisy patch in, clean patch out), as the paper's image
// experiment does, and Unpatch lays patches back into an image. A data set
// with a split of its own (YearPredictionMSD's, which keeps each artist on
// one side) says so in Dataset.TrainRows.
//
// The synthetic sets and the patches' noise draw from a seed's data
// stream, independent of the stream a solver initialises its weights from
// with the same seed: a student seeded like its teacher does not start with
// the teacher's draws.
//
// ReadCSV reads any numeric table (comma or white-space separated, optional
// header); a bad field is a *CSVError naming file, line and column.
package data
