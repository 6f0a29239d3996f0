// Package display shows relunet's figures, tables and progress in a GoNB
// notebook, and gives cells what every notebook needs: Must and Check stop
// a cell with a readable one-line error, Load fetches a data set on first
// use and says so. Outside the kernel, figures and progress do nothing and
// tables print as text, so the same code runs in command line programs.
package display
