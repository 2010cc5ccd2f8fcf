Feature: Set Task (regressions)
  As an implementer of the workflow DSL
  I want to ensure that set tasks set the data they describe
  So that my implementation conforms to the expected behavior

  # Regression (fixed) (the expected value is a reading). dsl-reference.md, Set: "set | map, string | The
  # data to set. Can be an object or a direct runtime expression."; dsl.md, Runtime
  # Expressions: "In strict mode, all expressions must be properly identified with ${} syntax."
  # So in strict mode a bare string is not an expression, and the data set is that string.
  # nagare accepts the definition (the loader treats `set` as data and compiles nothing), then
  # evaluates the string as a bare expression at run time and faults with an expression error
  # whose detail is internal: "expression `done` was not compiled with the definition".
  # Rejecting the definition when it is loaded would be the other consistent reading.
  Scenario: Set with a bare string in strict mode
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: set-bare-string, version: '1.0.0'}
    do:
      - status:
          set: done
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    done
    """
