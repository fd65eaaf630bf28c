"""Capacity: the highest change rate a pattern sustains, found by offering one deployment a
rising rate step by step (`cdcbench capacity`), with what bound it and its lag below it."""
