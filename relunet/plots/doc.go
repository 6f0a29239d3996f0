// Package plots draws the figures of relunet's notebooks and command line
// tool with gonum/plot: loss curves on log axes, heat maps of matrices
// (normal matrices, activation patterns, images of fields) and fitted curves.
// It has no notebook dependency; package display shows its plots in GoNB.
package plots
