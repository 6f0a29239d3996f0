// Package plots draws the figures of relunet's notebooks and command line
// tool with gonum/plot, in one style: loss curves on logarithmic axes with
// several plainly labelled decades, one fixed colour and marker per method
// in every figure, legends beside the data rather than on it, diverged runs
// drawn to their last finite point and marked, heat maps with axes and a
// colour bar (or a legend of categories), block boundaries and contour
// lines where they explain the picture, square pixels for images, and a
// symmetric logarithmic scale for values of both signs.
//
// Every function returns a *Figure, which knows the size it reads best at;
// it has no notebook dependency (package display shows figures in GoNB).
package plots
